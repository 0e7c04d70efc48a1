package delivery

import (
	"sync"
	"time"
)

// publishCost chooses whether the relay publishes a set of outbox
// messages one at a time or as one atomic batch. A message published
// alone costs a disk sync of its own, and an atomic batch a few
// milliseconds whatever its size. publishCost keeps a moving average of
// each cost, as the relay observes it, and picks the cheaper way for each
// set, so the choice follows the load.
type publishCost struct {
	mu         sync.Mutex
	perMessage time.Duration // average time to publish one message alone
	perBatch   time.Duration // average time to publish one atomic batch
}

// Initial estimates, from the natsbus publish benchmark on a 2-core
// virtual machine with an idle disk: about 0.15 ms a message alone and
// 3 ms a batch. With them the relay starts to batch at 20 messages.
const (
	initialPerMessage = 150 * time.Microsecond
	initialPerBatch   = 3 * time.Millisecond
)

// costWeight is the weight of each new observation in the averages. An
// observation counts as at most maxJump times the average, so that one
// stall does not turn the choice for many sets after it.
const (
	costWeight = 0.2
	maxJump    = 4
)

func newPublishCost() *publishCost {
	return &publishCost{perMessage: initialPerMessage, perBatch: initialPerBatch}
}

// batch reports whether n messages are cheaper to publish as one atomic
// batch than one at a time.
func (c *publishCost) batch(n int) bool {
	if n < 2 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(n)*c.perMessage > c.perBatch
}

// single records that n messages published one at a time took d.
func (c *publishCost) single(n int, d time.Duration) {
	if n < 1 {
		return
	}
	c.mu.Lock()
	c.perMessage = blend(c.perMessage, d/time.Duration(n))
	c.mu.Unlock()
}

// batched records that one atomic batch took d.
func (c *publishCost) batched(d time.Duration) {
	c.mu.Lock()
	c.perBatch = blend(c.perBatch, d)
	c.mu.Unlock()
}

func blend(avg, x time.Duration) time.Duration {
	x = min(x, maxJump*avg)
	return time.Duration((1-costWeight)*float64(avg) + costWeight*float64(x))
}
