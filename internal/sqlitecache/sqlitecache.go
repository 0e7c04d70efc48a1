// Package sqlitecache registers the database/sql driver "sqlite-cached":
// the modernc.org/sqlite driver with each connection keeping the
// statements it has prepared, keyed by their SQL text. A query run again
// on the same connection skips SQLite's parser, which is a large part of
// the cost of a short statement.
//
// Statements whose text contains a semicolon are never cached, because
// the text may hold several statements. A cached statement that still has
// open rows is not handed out again: the query is prepared afresh.
package sqlitecache

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"

	"modernc.org/sqlite"
)

// DriverName is the name to pass to sql.Open.
const DriverName = "sqlite-cached"

// maxStatements bounds the statements one connection keeps.
const maxStatements = 256

func init() {
	sql.Register(DriverName, &cachingDriver{base: &sqlite.Driver{}})
}

type cachingDriver struct {
	base driver.Driver
}

func (d *cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.base.Open(name)
	if err != nil {
		return nil, err
	}
	base, ok := c.(baseConn)
	if !ok {
		c.Close()
		return nil, errors.New("sqlitecache: the sqlite driver's connection lacks the context methods")
	}
	return &conn{base: base, stmts: map[string]*cachedStmt{}}, nil
}

// baseConn is the set of interfaces that the wrapped connection implements.
type baseConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

// conn is one connection and its statements. database/sql uses a
// connection from one goroutine at a time, so the map needs no lock.
type conn struct {
	base  baseConn
	stmts map[string]*cachedStmt
}

// cachedStmt is a prepared statement the connection keeps. Close on it
// does nothing; the statement is closed with the connection.
type cachedStmt struct {
	driver.Stmt
	conn  *conn
	query string
	busy  bool // rows from it are open
}

var (
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

// statement returns the connection's prepared statement for query and
// whether it is cached. An uncached statement must be closed after use.
func (c *conn) statement(ctx context.Context, query string) (driver.Stmt, *cachedStmt, error) {
	if s, ok := c.stmts[query]; ok && !s.busy {
		return s.Stmt, s, nil
	}
	s, err := c.base.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	if _, cached := c.stmts[query]; cached || len(c.stmts) >= maxStatements || strings.Contains(query, ";") {
		return s, nil, nil
	}
	cs := &cachedStmt{Stmt: s, conn: c, query: query}
	c.stmts[query] = cs
	return s, cs, nil
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, cs, err := c.statement(ctx, query)
	if err != nil || cs == nil {
		return s, err
	}
	return &sharedStmt{cachedStmt: cs}, nil
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		defer s.Close()
	}
	return s.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := s.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		if cs == nil {
			s.Close()
		}
		return nil, err
	}
	if cs == nil {
		return &ownedRows{Rows: rows, stmt: s}, nil
	}
	cs.busy = true
	return &cachedRows{Rows: rows, stmt: cs}, nil
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.base.BeginTx(ctx, opts)
}

func (c *conn) Begin() (driver.Tx, error) {
	return c.base.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) Close() error {
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.Stmt.Close())
	}
	c.stmts = nil
	errs = append(errs, c.base.Close())
	return errors.Join(errs...)
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.base.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.base.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.base.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// sharedStmt is a cached statement handed to database/sql by Prepare.
// While rows from the cached statement are open, it runs the query on the
// connection instead, which prepares it afresh.
type sharedStmt struct {
	*cachedStmt
}

func (s *sharedStmt) Close() error { return nil }

func (s *sharedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.busy {
		return s.conn.ExecContext(ctx, s.query, args)
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *sharedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.busy {
		return s.conn.QueryContext(ctx, s.query, args)
	}
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, stmt: s.cachedStmt}, nil
}

// cachedRows frees its cached statement for reuse when closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	r.stmt.busy = false
	return r.Rows.Close()
}

// ownedRows closes its uncached statement when closed.
type ownedRows struct {
	driver.Rows
	stmt driver.Stmt
}

func (r *ownedRows) Close() error {
	return errors.Join(r.Rows.Close(), r.stmt.Close())
}
