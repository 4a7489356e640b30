// herald's entry point: parse flags and config, start the node, wait for a
// signal. Signals are blocked in every thread and taken here with sigwait, so
// no handler runs inside an event loop.
#include <event2/thread.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "app/server.h"
#include "auth/password.h"
#include "server/core/config.h"
#include "server/util/log.h"
#include "server/util/version.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--hash-password") {
    if (argc != 3) {
      std::fprintf(stderr, "herald: usage: herald --hash-password PASSWORD\n");
      return 2;
    }
    std::string hash = herald::HashPassword(argv[2]);
    if (hash.empty()) return 1;
    std::printf("%s\n", hash.c_str());
    return 0;
  }
  auto cl = herald::ParseCommandLine(argc, argv);
  if (!cl.ok()) {
    std::fprintf(stderr, "herald: %s\n", cl.status().reason().c_str());
    return 2;
  }
  if (cl->help) {
    std::fputs(herald::HelpText(), stdout);
    return 0;
  }
  if (cl->version) {
    std::printf("%s\n", herald::VersionLine().c_str());
    return 0;
  }
  if (!cl->check_config.empty()) {
    herald::Status s = herald::Server::CheckConfig(cl->config);
    if (!s.ok()) {
      std::fprintf(stderr, "herald: %s: %s\n", cl->check_config.c_str(), s.reason().c_str());
      return 2;
    }
    std::printf("%s: OK\n", cl->check_config.c_str());
    return 0;
  }
  static const char* kLevels[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; ++i) {
    if (cl->config.log_level == kLevels[i]) herald::SetLogLevel(static_cast<herald::LogLevel>(i));
  }
  if (cl->config.log_format == "json") herald::SetLogFormat(herald::LogFormat::kJson);
  signal(SIGPIPE, SIG_IGN);
  sigset_t waited;
  sigemptyset(&waited);
  sigaddset(&waited, SIGTERM);
  sigaddset(&waited, SIGINT);
  sigaddset(&waited, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &waited, nullptr);  // inherited by every thread started below
  evthread_use_pthreads();

  herald::Server server(std::move(cl->config));
  herald::Status s = server.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "herald: %s\n", s.reason().c_str());
    // A config error found at start-up (a key file, the ACL file) exits as
    // one found by the JSON pass or --check-config does.
    return s.kind() == herald::StatusKind::kConfig ? 2 : 1;
  }
  for (;;) {
    int sig = 0;
    sigwait(&waited, &sig);
    if (sig == SIGHUP) {
      server.Reload(argc, argv);  // logs what it did; a failure keeps the old keys
      continue;
    }
    LogInfo("server", 0, "signal %d: shutting down", sig);
    break;
  }
  server.Shutdown();
  return 0;
}
