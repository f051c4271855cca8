// The baseline gRPC server: RequestService.SubmitRequest answered at once
// with a made-up id, doing no work. What dispatchd costs beyond this is the
// price of dispatching (the "RPC tax" figures divide by it).
//
// Thread safety: thread-safe.
#ifndef DISPATCHD_BENCH_NOOP_SERVER_H_
#define DISPATCHD_BENCH_NOOP_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace dispatchd::bench {

class NoopServer {
 public:
  // Listens on `address` (port 0: any free port).
  explicit NoopServer(const std::string& address);
  ~NoopServer();
  int port() const { return port_; }

 private:
  class Service;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_NOOP_SERVER_H_
