// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. Node has no AF_UNIX
// datagram sockets, and the npm unix-dgram package cannot address the abstract namespace
// ("@…") that systemd may hand out, so these few lines are ours.
#include <napi.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

Napi::Value Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    Napi::TypeError::New(env, "notify(socketPath: string, message: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string msg = info[1].As<Napi::String>().Utf8Value();
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@')) {
    Napi::Error::New(env, "NOTIFY_SOCKET must be an absolute path or @abstract name").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  memcpy(sa.sun_path, path.data(), path.size());
  if (path[0] == '@') sa.sun_path[0] = '\0';  // abstract: the length, not a NUL, ends the name
  socklen_t len = offsetof(struct sockaddr_un, sun_path) + path.size() + (path[0] == '/' ? 1 : 0);

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Napi::Error::New(env, std::string("socket: ") + strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ssize_t n = sendto(fd, msg.data(), msg.size(), MSG_NOSIGNAL, reinterpret_cast<struct sockaddr*>(&sa), len);
  int err = errno;
  close(fd);
  if (n < 0) {
    Napi::Error::New(env, std::string("sendto ") + path + ": " + strerror(err)).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("notify", Napi::Function::New(env, Notify));
  return exports;
}

}  // namespace

NODE_API_MODULE(sd_notify, Init)
