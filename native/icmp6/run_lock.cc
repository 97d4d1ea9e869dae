// flock(2) for the one-instance-per-runtime-directory lock (src/runtime/run-lock.ts). Node
// has no flock; a lock the kernel releases when the process dies (even on SIGKILL) needs
// no stale-pid guessing, unlike lock files made with mkdir or O_EXCL.
#include <napi.h>

#include <errno.h>
#include <string.h>
#include <sys/file.h>

namespace {

// flock(fd, LOCK_EX | LOCK_NB): true when taken, false when another open file holds it.
Napi::Value TryLockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "tryLockExclusive(fd: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  int r;
  do {
    r = flock(fd, LOCK_EX | LOCK_NB);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  int err = errno;
  auto e = Napi::Error::New(env, std::string("flock: ") + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("tryLockExclusive", Napi::Function::New(env, TryLockExclusive));
  return exports;
}

}  // namespace

NODE_API_MODULE(run_lock, Init)
