// Ring: the runtime's single-producer, single-consumer queue between two
// threads (Boost.Lockfree spsc_queue, allocated once at its capacity).
//
// The rings of the runtime, one writer and one reader each:
//   producer p -> shard s   ProducerState::to_shard(s)     requests
//   producer p -> shard s   ProducerState::whole_to_shard(s)  admin commands, whole
//   shard s -> producer p   ProducerState::from_shard(s)   completions
//   shard a -> shard b      Shard(b).inbox_from(a)         saga messages
// A producer never has more than ring_capacity commands in flight to a shard,
// so a completion always finds room in its reply ring.
//
// Thread safety: push() from one thread, pop() from one other thread.
#ifndef ENCORE_RUNTIME_RING_H_
#define ENCORE_RUNTIME_RING_H_

#include "boost/lockfree/spsc_queue.hpp"

namespace encore::internal {

template <typename T>
using Ring = boost::lockfree::spsc_queue<T>;

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_RING_H_
