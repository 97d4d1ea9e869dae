// A raw ICMPv6 socket for router advertisements and solicitations, with what the npm
// raw-socket package cannot give: the hop limit and the arrival interface of each packet
// (IPV6_RECVHOPLIMIT, IPV6_RECVPKTINFO), and a kernel-side type filter (ICMP6_FILTER).
// Read on libuv's loop; parsing and policy live in TypeScript (src/ra/).
#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

Napi::Error ErrnoError(Napi::Env env, int err, const char* what) {
  auto e = Napi::Error::New(env, std::string(what) + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, what));
  return e;
}

class Icmp6Socket : public Napi::ObjectWrap<Icmp6Socket> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "Icmp6Socket", {
      InstanceMethod<&Icmp6Socket::Send>("send"),
      InstanceMethod<&Icmp6Socket::Close>("close"),
      InstanceMethod<&Icmp6Socket::UnrefHandle>("unref"),
    });
    exports.Set("Icmp6Socket", ctor);
    return exports;
  }

  // new Icmp6Socket(types: number[], onMessage(data, src16, ifindex, hopLimit), onError(err))
  Icmp6Socket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Icmp6Socket>(info) {
    Napi::Env env = info.Env();
    auto types = info[0].As<Napi::Array>();
    on_message_ = Napi::Persistent(info[1].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[2].As<Napi::Function>());

    fd_ = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd_ < 0) throw ErrnoError(env, errno, "socket");

    struct icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    for (uint32_t i = 0; i < types.Length(); i++) {
      ICMP6_FILTER_SETPASS(types.Get(i).As<Napi::Number>().Uint32Value(), &filter);
    }
    int on = 1;
    int hops = 255;  // neighbour discovery demands 255 (RFC 4861 6.1.2)
    if (setsockopt(fd_, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) < 0 ||
        setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) < 0 ||
        setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) < 0 ||
        setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
        setsockopt(fd_, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0) {
      int err = errno;
      close(fd_);
      fd_ = -1;
      throw ErrnoError(env, err, "setsockopt");
    }

    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    uv_poll_init(loop, poll_, fd_);
    uv_poll_start(poll_, UV_READABLE, OnPoll);
    Ref();  // kept alive while open
  }

  ~Icmp6Socket() override { Shutdown(); }

 private:
  void Shutdown() {
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<Icmp6Socket*>(handle->data);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    if (status < 0) {
      self->on_error_.Call({ErrnoError(env, -status, "poll").Value()});
      return;
    }
    self->ReadAll();
  }

  void ReadAll() {
    Napi::Env env = Env();
    // A bounded number per loop turn, so a flood cannot starve the loop.
    for (int n = 0; n < 64 && fd_ >= 0; n++) {
      unsigned char data[2048];
      unsigned char control[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
      struct sockaddr_in6 src;
      struct iovec iov = {data, sizeof(data)};
      struct msghdr msg;
      memset(&msg, 0, sizeof(msg));
      msg.msg_name = &src;
      msg.msg_namelen = sizeof(src);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      ssize_t len = recvmsg(fd_, &msg, 0);
      if (len < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) on_error_.Call({ErrnoError(env, errno, "recvmsg").Value()});
        return;
      }
      int hop_limit = -1;
      int ifindex = 0;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != IPPROTO_IPV6) continue;
        if (c->cmsg_type == IPV6_HOPLIMIT) memcpy(&hop_limit, CMSG_DATA(c), sizeof(int));
        if (c->cmsg_type == IPV6_PKTINFO) {
          struct in6_pktinfo pi;
          memcpy(&pi, CMSG_DATA(c), sizeof(pi));
          ifindex = static_cast<int>(pi.ipi6_ifindex);
        }
      }
      if (!ifindex) ifindex = static_cast<int>(src.sin6_scope_id);
      auto buf = Napi::Buffer<unsigned char>::Copy(env, data, static_cast<size_t>(len));
      auto from = Napi::Buffer<unsigned char>::Copy(env, src.sin6_addr.s6_addr, 16);
      on_message_.Call({buf, from, Napi::Number::New(env, ifindex), Napi::Number::New(env, hop_limit)});
      if (env.IsExceptionPending()) return;
    }
  }

  // send(data: Buffer, dst16: Buffer, ifindex: number)
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) throw Napi::Error::New(env, "socket closed");
    auto data = info[0].As<Napi::Buffer<unsigned char>>();
    auto dst = info[1].As<Napi::Buffer<unsigned char>>();
    if (dst.Length() != 16) throw Napi::TypeError::New(env, "destination must be 16 bytes");
    struct sockaddr_in6 to;
    memset(&to, 0, sizeof(to));
    to.sin6_family = AF_INET6;
    memcpy(to.sin6_addr.s6_addr, dst.Data(), 16);
    to.sin6_scope_id = info[2].As<Napi::Number>().Uint32Value();
    unsigned char control[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    memset(control, 0, sizeof(control));
    struct iovec iov = {data.Data(), data.Length()};
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_name = &to;
    msg.msg_namelen = sizeof(to);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof(pi));
    pi.ipi6_ifindex = to.sin6_scope_id;
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    if (sendmsg(fd_, &msg, 0) < 0) throw ErrnoError(env, errno, "sendmsg");
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) {
      Shutdown();
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference on_message_;
  Napi::FunctionReference on_error_;
};

}  // namespace

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return Icmp6Socket::Init(env, exports); }

NODE_API_MODULE(icmp6_socket, InitAll)
