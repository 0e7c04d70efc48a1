// Package store keeps the hub's state in a SQL database: SQLite for one
// machine, PostgreSQL for a cluster. The same SQL serves both, with
// $1-style placeholders, which both drivers accept; the few statements that
// differ branch on Dialect. The subpackages sqlite and postgres open a
// connection, apply that backend's migrations and translate its errors.
//
// Column conventions: instants are BIGINT Unix microseconds UTC, dates are
// TEXT YYYY-MM-DD, JSON documents are TEXT, and ids are TEXT.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joinedup/joinedup"
)

// Dialect names the SQL backend.
type Dialect int

// Supported dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("dialect(%d)", int(d))
}

// DB is the hub's store. It is safe for concurrent use.
type DB struct {
	db        *sql.DB
	read      *sql.DB
	dialect   Dialect
	translate func(error) error

	// Now returns the current time. Tests replace it to control the clock.
	Now func() time.Time

	// stmts caches prepared statements by pool and query text: SQLite
	// spends much of a short statement's time parsing it.
	stmts     sync.Map // stmtKey → *sql.Stmt
	stmtCount atomic.Int64

	writerOnce sync.Once
	writes     chan txRequest
	toPrepare  sync.Map // write statements to prepare after the next commit

	// relaying holds the ids of outbox messages that the SQLite relay has
	// published and whose delete has not committed yet, so that the next
	// read skips them.
	relayMu  sync.Mutex
	relaying map[string]struct{}
	// keptBus is the event bus that the PostgreSQL relay checks the store
	// still records, nil for none; KeepEventBus sets it.
	keptBus atomic.Pointer[keptBus]
	deletes sync.WaitGroup

	closed    chan struct{}
	closeOnce sync.Once
}

// New returns a DB over an open database. Writes go through db and
// read-only transactions through read, which may be the same pool; SQLite
// uses one connection for writes and several for reads. translate maps the
// driver's errors to *joinedup.Error values; it is called on every error a
// transaction returns that is not already one.
func New(db, read *sql.DB, dialect Dialect, translate func(error) error) *DB {
	return &DB{db: db, read: read, dialect: dialect, translate: translate, Now: time.Now,
		relaying: make(map[string]struct{}), closed: make(chan struct{})}
}

// Dialect returns the backend's dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL returns the underlying database, for tools that inspect it directly.
func (db *DB) SQL() *sql.DB { return db.db }

// Close closes the database.
func (db *DB) Close() error {
	// Outbox deletes still queued commit first; the writer stops when
	// closed is closed.
	db.deletes.Wait()
	db.closeOnce.Do(func() { close(db.closed) })
	db.stmts.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
	err := db.db.Close()
	if db.read != db.db {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping checks that the database is reachable.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

// Tx is one transaction.
type Tx struct {
	*sql.Tx
	db   *DB
	pool *sql.DB
	now  time.Time
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

// maxStmts bounds the statement cache. Queries with values formatted into
// their text, such as a LIMIT, can have many forms; past the bound they
// are parsed each time.
const maxStmts = 512

// stmt returns query prepared on the transaction's pool, preparing it the
// first time it is used, or nil when it is not cached. Only SQLite caches:
// pgx already caches statements on each PostgreSQL connection. SQLite's
// write pool has one connection, which the transaction holds, so a write
// statement is parsed uncached the first time and prepared by the writer
// after its commit, when the connection is free.
func (tx *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if tx.db.dialect != SQLite {
		return nil, nil
	}
	key := stmtKey{tx.pool, query}
	if s, ok := tx.db.stmts.Load(key); ok {
		return tx.StmtContext(ctx, s.(*sql.Stmt)), nil
	}
	if tx.db.stmtCount.Load() >= maxStmts {
		return nil, nil
	}
	if tx.pool == tx.db.db {
		tx.db.toPrepare.Store(query, struct{}{})
		return nil, nil
	}
	// Preparing on the pool needs a second connection while the
	// transaction holds one. When every connection is taken, waiting for
	// one could deadlock, so the statement is parsed uncached this time.
	prepareCtx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	defer cancel()
	s, err := tx.pool.PrepareContext(prepareCtx, query)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, nil
	}
	if prev, loaded := tx.db.stmts.LoadOrStore(key, s); loaded {
		s.Close()
		s = prev.(*sql.Stmt)
	} else {
		tx.db.stmtCount.Add(1)
	}
	return tx.StmtContext(ctx, s), nil
}

// ExecContext runs query as a prepared statement cached for the pool.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	} else if s == nil {
		return tx.Tx.ExecContext(ctx, query, args...)
	}
	return s.ExecContext(ctx, args...)
}

// QueryContext runs query as a prepared statement cached for the pool.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	} else if s == nil {
		return tx.Tx.QueryContext(ctx, query, args...)
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs query as a prepared statement cached for the pool.
// A failure to prepare is reported by the row's Scan.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := tx.stmt(ctx, query)
	if err != nil || s == nil {
		return tx.Tx.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// Dialect returns the backend's dialect.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// Now returns the time the transaction started, so that every row it
// writes carries the same instant.
func (tx *Tx) Now() time.Time { return tx.now }

// txTime returns the start time of a new transaction, to the microsecond,
// which is what the store keeps. A time returned to a caller then equals
// the same time read back.
func (db *DB) txTime() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }

// Tx runs fn in one transaction and commits it when fn returns nil. Errors
// from fn and from the driver are returned translated into *joinedup.Error
// where the driver's error has a meaning for callers (a unique violation is
// ECONFLICT, no rows is ENOTFOUND).
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	if db.dialect == SQLite {
		return db.groupTx(ctx, fn)
	}
	sqlTx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap(fmt.Errorf("begin transaction: %w", err))
	}
	tx := &Tx{Tx: sqlTx, db: db, pool: db.db, now: db.txTime()}
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return db.wrap(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return db.wrap(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// maxGroup bounds how many transactions share one SQLite commit.
const maxGroup = 64

// txRequest is one transaction waiting for the SQLite writer.
type txRequest struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	done chan error
}

// groupTx runs fn on SQLite's single writer. Transactions that wait
// together share one commit, and so one disk sync (a group commit); each
// runs inside a savepoint of its own, so one that fails is rolled back
// alone and the others still commit. It returns once the commit is on
// disk.
func (db *DB) groupTx(ctx context.Context, fn func(tx *Tx) error) error {
	db.writerOnce.Do(func() {
		db.writes = make(chan txRequest)
		go db.writeLoop()
	})
	req := txRequest{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.writes <- req:
	case <-db.closed:
		return joinedup.Errorf(joinedup.EUNAVAILABLE, "The store is closed.")
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

// Group commit timing. A writer whose last commit, less than busyGap ago,
// held transactions from more than one caller is under load, and waits up
// to commitDelay for more transactions before it commits. The audit log,
// outcome settling and the outbox relay each send one transaction a commit
// and send the next as soon as it is done. Without the wait, each of them
// would get a commit, and a disk sync, of its own. An idle writer, or one
// serving a single caller's transactions one after another, commits at
// once.
const (
	commitDelay = time.Millisecond
	busyGap     = 2 * time.Millisecond
)

// writeLoop commits queued transactions until the store closes: it takes
// every request waiting, up to maxGroup, and commits them together.
func (db *DB) writeLoop() {
	var lastCommit time.Time
	var lastSize int
	for {
		var batch []txRequest
		select {
		case req := <-db.writes:
			batch = append(batch, req)
		case <-db.closed:
			return
		}
	fill:
		for len(batch) < maxGroup {
			select {
			case req := <-db.writes:
				batch = append(batch, req)
			default:
				break fill
			}
		}
		if len(batch) < maxGroup && lastSize > 1 && time.Since(lastCommit) < busyGap {
			batch = db.collect(batch, commitDelay)
		}
		db.commitGroup(batch)
		lastCommit, lastSize = time.Now(), len(batch)
	}
}

// collect adds the requests that arrive within wait to batch, up to
// maxGroup.
func (db *DB) collect(batch []txRequest, wait time.Duration) []txRequest {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for len(batch) < maxGroup {
		select {
		case req := <-db.writes:
			batch = append(batch, req)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// commitGroup runs batch in one SQLite transaction and returns each
// request its own result.
func (db *DB) commitGroup(batch []txRequest) {
	results := make([]error, len(batch))
	fail := func(err error) {
		for i, req := range batch {
			if results[i] == nil {
				results[i] = err
			}
			req.done <- db.wrap(results[i])
		}
	}

	sqlTx, err := db.db.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("begin transaction: %w", err))
		return
	}
	tx := &Tx{Tx: sqlTx, db: db, pool: db.db, now: db.txTime()}
	if len(batch) == 1 {
		// A transaction alone needs no savepoint: if it fails, the whole
		// transaction is rolled back.
		req := batch[0]
		err := req.ctx.Err()
		if err == nil {
			err = req.fn(tx)
		}
		if err != nil {
			_ = sqlTx.Rollback()
			req.done <- db.wrap(err)
			return
		}
	} else if err := runInSavepoints(tx, batch, results); err != nil {
		_ = sqlTx.Rollback()
		fail(err)
		return
	}
	if err := sqlTx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for i, req := range batch {
		if results[i] != nil {
			req.done <- db.wrap(results[i])
		} else {
			req.done <- nil
		}
	}
	db.prepareWrites()
}

// runInSavepoints runs each request of batch in a savepoint of tx and
// stores its error in results. A request that fails is rolled back to its
// savepoint. The error returned is one that ends the whole transaction.
func runInSavepoints(tx *Tx, batch []txRequest, results []error) error {
	// The savepoint statements go through the writer's statement cache
	// like any other, so they are not parsed for every request.
	ctx := context.Background()
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT grouped`); err != nil {
			return fmt.Errorf("begin savepoint: %w", err)
		}
		if err := req.fn(tx); err != nil {
			results[i] = err
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO grouped`); err != nil {
				return fmt.Errorf("roll back savepoint: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE grouped`); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	return nil
}

// prepareWrites prepares the write statements that transactions asked
// for, now that the writer's connection is free.
func (db *DB) prepareWrites() {
	db.toPrepare.Range(func(q, _ any) bool {
		db.toPrepare.Delete(q)
		key := stmtKey{db.db, q.(string)}
		if _, ok := db.stmts.Load(key); ok || db.stmtCount.Load() >= maxStmts {
			return true
		}
		s, err := db.db.PrepareContext(context.Background(), q.(string))
		if err != nil {
			return true // the statement reports its own error when run
		}
		db.stmts.Store(key, s)
		db.stmtCount.Add(1)
		return true
	})
}

// queryRow runs a read of one statement on the read pool, outside a
// transaction. One statement reads from one snapshot by itself, so a
// transaction around it would only add its BEGIN and ROLLBACK.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s := db.readStmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.read.QueryRowContext(ctx, query, args...)
}

// query is queryRow for a statement that returns several rows.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := db.readStmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return db.read.QueryContext(ctx, query, args...)
}

// readStmt returns query prepared on the read pool, preparing it the first
// time it is used, or nil when it is not cached. Only SQLite caches, as in
// Tx.stmt.
func (db *DB) readStmt(ctx context.Context, query string) *sql.Stmt {
	if db.dialect != SQLite {
		return nil
	}
	key := stmtKey{db.read, query}
	if s, ok := db.stmts.Load(key); ok {
		return s.(*sql.Stmt)
	}
	if db.stmtCount.Load() >= maxStmts {
		return nil
	}
	s, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		// The query runs uncached and reports the error itself.
		return nil
	}
	if prev, loaded := db.stmts.LoadOrStore(key, s); loaded {
		s.Close()
		return prev.(*sql.Stmt)
	}
	db.stmtCount.Add(1)
	return s
}

// View runs fn in one read-only transaction. fn must not write.
func (db *DB) View(ctx context.Context, fn func(tx *Tx) error) error {
	return db.view(ctx, fn, sql.LevelDefault)
}

// ViewSnapshot is View with every statement of fn reading one snapshot
// of the store, so that a count and the page it counts agree. A SQLite
// read transaction reads one snapshot already. PostgreSQL needs
// REPEATABLE READ, because each statement of a READ COMMITTED
// transaction reads the
// commits made before it started.
func (db *DB) ViewSnapshot(ctx context.Context, fn func(tx *Tx) error) error {
	level := sql.LevelDefault
	if db.dialect == Postgres {
		level = sql.LevelRepeatableRead
	}
	return db.view(ctx, fn, level)
}

func (db *DB) view(ctx context.Context, fn func(tx *Tx) error, level sql.IsolationLevel) error {
	sqlTx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: db.dialect == Postgres, Isolation: level})
	if err != nil {
		return db.wrap(fmt.Errorf("begin read transaction: %w", err))
	}
	defer sqlTx.Rollback()
	tx := &Tx{Tx: sqlTx, db: db, pool: db.read, now: db.txTime()}
	if err := fn(tx); err != nil {
		return db.wrap(err)
	}
	return nil
}

func (db *DB) wrap(err error) error {
	var e *joinedup.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &joinedup.Error{Code: joinedup.ENOTFOUND, Message: "Not found.", Err: err}
	}
	if db.translate != nil {
		return db.translate(err)
	}
	return err
}

// Micros returns t as Unix microseconds, or 0 for the zero time.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromMicros returns the instant of Unix microseconds us in UTC, or the zero
// time for 0.
func FromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
