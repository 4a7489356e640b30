// BackgroundThread: a thread for work too slow for an event loop — a bound
// publish's RSA decryption and PBKDF2 derivation cost milliseconds to tens of
// milliseconds, and the private API runs on the worker loops. Tasks answer
// through their Responder, which finds its way back to the right loop.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace herald {

class BackgroundThread {
 public:
  BackgroundThread();
  ~BackgroundThread() { Stop(); }
  BackgroundThread(const BackgroundThread&) = delete;
  BackgroundThread& operator=(const BackgroundThread&) = delete;

  // Any thread. After Stop, tasks are dropped.
  void Post(std::function<void()> task);
  // Finishes the running task, drops the queued ones, joins. Idempotent.
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::thread thread_;
};

}  // namespace herald
