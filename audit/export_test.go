package audit

// Pending returns the number of append requests waiting for a transaction.
func (l *Log) Pending() int {
	l.batchMu.Lock()
	defer l.batchMu.Unlock()
	return len(l.pending)
}
