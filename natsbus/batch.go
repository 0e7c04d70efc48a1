package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// Headers of an atomic batch publish, from NATS server 2.12 on.
const (
	headerBatchID     = "Nats-Batch-Id"
	headerBatchSeq    = "Nats-Batch-Sequence"
	headerBatchCommit = "Nats-Batch-Commit"
)

// MaxBatch is the most messages PublishBatch takes: the server's default
// limit on an atomic batch.
const MaxBatch = 1000

// ErrBatchUnsupported means the server is older than 2.12, so messages must
// be published one at a time.
var ErrBatchUnsupported = errors.New("nats: the server does not support atomic batch publishing")

// PublishBatch stores msgs in the stream as one atomic batch: all or none
// of them are stored, and the embedded server syncs the batch to disk once
// rather than once a message. It returns once the stream has stored them.
// A batch with a message id that the stream has seen within the duplicate
// window is rejected whole, so a caller that may publish a message twice
// must then publish them one at a time, which stores each duplicate once.
func (b *Bus) PublishBatch(ctx context.Context, msgs []*nats.Msg) error {
	if !b.AtomicBatches {
		return ErrBatchUnsupported
	}
	if len(msgs) == 0 || len(msgs) > MaxBatch {
		return fmt.Errorf("nats: a batch has 1 to %d messages, not %d", MaxBatch, len(msgs))
	}
	id := nuid.Next()
	for i, m := range msgs {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(headerBatchID, id)
		m.Header.Set(headerBatchSeq, strconv.Itoa(i+1))
		if i == len(msgs)-1 {
			break
		}
		// The server replies only to the commit, so the messages before it
		// go without a reply subject.
		m.Reply = ""
		if err := b.Conn.PublishMsg(m); err != nil {
			return fmt.Errorf("publish batch message %d: %w", i+1, err)
		}
	}
	last := msgs[len(msgs)-1]
	last.Header.Set(headerBatchCommit, "1")
	resp, err := b.Conn.RequestMsgWithContext(ctx, last)
	if err != nil {
		return fmt.Errorf("commit batch: %w", err)
	}

	var ack struct {
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
		Count int `json:"count"`
	}
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return fmt.Errorf("commit batch: invalid acknowledgement: %w", err)
	}
	if ack.Error != nil {
		return fmt.Errorf("commit batch: %s (code %d)", ack.Error.Description, ack.Error.ErrCode)
	}
	if ack.Count != len(msgs) {
		return fmt.Errorf("commit batch: the stream stored %d of %d messages", ack.Count, len(msgs))
	}
	return nil
}
