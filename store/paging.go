package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/joinedup/joinedup"
)

// keyedList describes a list of a table's rows in order of a time column
// and then id, oldest first unless newestFirst is set, such as the
// deliveries or the life events. Its pages are cut by offset or by a
// cursor, a row's time and id, from an index that holds the rows in that
// order, so that a page neither scans nor sorts every match.
type keyedList struct {
	table string // the table listed, such as "deliveries"
	at    string // the time column, such as "created_at"
	// conds are the conditions a row must meet, with placeholders from
	// $1 bound by args.
	conds       []string
	args        []any
	newestFirst bool
}

// listQueries holds the queries of one page of a keyedList.
type listQueries struct {
	// count counts every match, with args.
	count string
	args  []any
	// page selects the page's rows after "SELECT columns FROM table", and
	// position, when set, counts the matches before the cursor, both with
	// pageArgs. A page before a cursor is read in the list's reverse
	// order, and backwards is then set.
	page, position string
	pageArgs       []any
	backwards      bool
	// offset is the offset of a page read without a cursor.
	offset int
}

// listCursor is a cursor as the store binds it: a time in microseconds
// and an id.
type listCursor struct {
	at int64
	id string
}

// cursorOf returns c as the store binds it, or nil for no cursor.
func cursorOf[ID ~string](c *joinedup.Cursor[ID]) *listCursor {
	if c == nil {
		return nil
	}
	return &listCursor{at: Micros(c.At), id: string(c.ID)}
}

// checkPlace returns EINVALID when a page of a list of what, such as
// "deliveries", is placed by more than one of offset, after and before.
func checkPlace(what string, offset int, after, before bool) error {
	if (after && before) || (offset > 0 && (after || before)) {
		return joinedup.Errorf(joinedup.EINVALID, "A list of %s is paged by one of offset, after and before.", what)
	}
	return nil
}

// queries returns the queries of the page of l of at most limit rows
// that starts at offset, or just after the cursor after, or ends just
// before the cursor before. At most one of them is set.
func (l keyedList) queries(offset int, after, before *listCursor, limit int) listQueries {
	where := func(more ...string) string {
		all := append(slices.Clone(l.conds), more...)
		if len(all) == 0 {
			return ""
		}
		return "WHERE " + strings.Join(all, " AND ")
	}
	// In the list's order, ahead is the comparison that holds for a row
	// after another, and behind for one before it.
	order := fmt.Sprintf("%s, id", l.at)
	reverse := fmt.Sprintf("%s DESC, id DESC", l.at)
	ahead, behind := ">", "<"
	if l.newestFirst {
		ahead, behind, order, reverse = behind, ahead, reverse, order
	}
	key := func(op string) string {
		return fmt.Sprintf("(%s, id) %s ($%d, $%d)", l.at, op, len(l.args)+1, len(l.args)+2)
	}
	cursorArgs := func(c *listCursor) []any {
		return append(slices.Clone(l.args), c.at, c.id)
	}
	from := fmt.Sprintf("SELECT COUNT(*) FROM %s ", l.table)

	q := listQueries{count: from + where(), args: l.args}
	switch {
	case after != nil:
		q.pageArgs = cursorArgs(after)
		q.position = from + where(key(behind+"="))
		q.page = where(key(ahead)) + fmt.Sprintf(" ORDER BY %s LIMIT %d", order, limit)
	case before != nil:
		q.pageArgs, q.backwards = cursorArgs(before), true
		q.position = from + where(key(behind))
		q.page = where(key(behind)) + fmt.Sprintf(" ORDER BY %s LIMIT %d", reverse, limit)
	default:
		q.pageArgs, q.offset = l.args, max(offset, 0)
		q.page = where() + fmt.Sprintf(" ORDER BY %s LIMIT %d OFFSET %d", order, limit, q.offset)
	}
	return q
}

// readPage reads the page of q in tx: the total, the page's offset and
// its rows, which rows selects with the page's query. tx should read one
// snapshot (see ViewSnapshot), so that the three agree.
func readPage[T any](ctx context.Context, tx *Tx, q listQueries,
	rows func(ctx context.Context, tx *Tx, where string, args ...any) ([]T, error)) (joinedup.Page[T], error) {
	var page joinedup.Page[T]
	if err := tx.QueryRowContext(ctx, q.count, q.args...).Scan(&page.Total); err != nil {
		return page, err
	}
	page.Offset = q.offset
	if q.position != "" {
		if err := tx.QueryRowContext(ctx, q.position, q.pageArgs...).Scan(&page.Offset); err != nil {
			return page, err
		}
	}
	var err error
	if page.Items, err = rows(ctx, tx, q.page, q.pageArgs...); err != nil {
		return page, err
	}
	if q.backwards {
		// The page was read backwards from the cursor, and position
		// counted every match before the cursor.
		slices.Reverse(page.Items)
		page.Offset -= len(page.Items)
	}
	return page, nil
}
