// wb/queue_errors.hpp - QueueEmpty and QueueFull: Python's queue.Empty and queue.Full.
//
// One pair for both kinds of queue: the process queue (wb::Queue, wb/queue.hpp, chapter 13) and the
// thread queues (wb::threads::Queue, LifoQueue, PriorityQueue, wb/thread_queue.hpp, chapter 19).
// Python does the same: multiprocessing.Queue raises queue.Empty and queue.Full too.
#pragma once

#include <stdexcept>

namespace wb {

// get() found nothing within its timeout, or get_nowait() found the queue empty (queue.Empty).
class QueueEmpty : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// put() found no room within its timeout, or put_nowait() found the queue full (queue.Full).
class QueueFull : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace wb
