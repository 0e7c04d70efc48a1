package web

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/joinedup/joinedup"
)

// pager is the place of one page in a paged list, for the page's caption
// and its Previous and Next links. First and Last are the 1-based
// positions of the page's first and last items, and 0 when the page has
// none.
type pager struct {
	Total       int
	First, Last int
	PreviousURL string
	NextURL     string
	// PastEnd is set when the offset is at or past the end of the list,
	// so the page shows no item, and FirstURL is then the list's first
	// page.
	PastEnd  bool
	FirstURL string
}

// newPager returns the place of the page at offset, which shows shown
// items out of total, in pages of limit items. pageURL returns the URL of
// the page at an offset.
//
// NOTE: a list cuts its pages from every match and then drops the items
// the account may not see, so a page can be empty while a later one is
// not. An empty page offers no Previous or Next link, because those links
// mostly lead to more empty pages.
func newPager(offset, limit, shown, total int, pageURL func(offset int) string) pager {
	p := pager{Total: total}
	if shown > 0 {
		p.First, p.Last = offset+1, offset+shown
		if offset > 0 {
			p.PreviousURL = pageURL(max(offset-limit, 0))
		}
		if offset+shown < total {
			p.NextURL = pageURL(offset + limit)
		}
	}
	if total > 0 && offset >= total {
		p.PastEnd, p.FirstURL = true, pageURL(0)
	}
	return p
}

// caption returns the caption of a table that shows this page of a list
// of items, such as "Deliveries that are failed", in an order such as
// "oldest first".
func (p pager) caption(items, order string) string {
	switch {
	case p.First > 0:
		return fmt.Sprintf("%s, %s: showing %d to %d of %d", items, order, p.First, p.Last, p.Total)
	case p.PastEnd:
		return items + ": there are none on this page"
	case p.Total > 0:
		return items + ": there are none here that you may see"
	default:
		return items + ": there are none"
	}
}

// pagination is the data of the pagination template: the links of one
// page and, on a page past the end of the list, the size of the list.
type pagination struct {
	pager
	// Label names the pages for screen readers, such as "Pages of
	// deliveries".
	Label string
	// Size is the number of items in the list in words, such as "3
	// deliveries".
	Size string
}

// newPagination returns the data of the pagination template for p, in a
// list whose items are called singular and plural.
func newPagination(p pager, singular, plural string) pagination {
	return pagination{pager: p, Label: "Pages of " + plural, Size: countText(p.Total, singular, plural)}
}

// countText returns n followed by the singular or plural noun, such as
// "1 delivery" or "3 deliveries".
func countText(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.Itoa(n) + " " + plural
}

// readPage reads the offset and limit query parameters of a paged list,
// with defaultLimit when q has no limit. It returns a field error, named
// by a pointer such as "/limit", for each invalid value.
func readPage(q url.Values, defaultLimit int) (offset, limit int, fields []joinedup.FieldError) {
	limit = defaultLimit
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/offset", Message: "Offset must be a whole number, 0 or more."})
		}
		offset = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/limit", Message: "Limit must be a whole number from 1 to " + strconv.Itoa(maxPageSize) + "."})
		}
		limit = n
	}
	return offset, limit, fields
}

// readDeliveryPage reads the place of a page of a list of deliveries into
// f: its offset, or the cursor after or before which it lies, and its
// limit, with defaultLimit when q has no limit. It returns a field error
// for each invalid value, and one for more than one of offset, after and
// before, which names the second of them given.
func readDeliveryPage(q url.Values, defaultLimit int, f *joinedup.DeliveryFilter) []joinedup.FieldError {
	var fields []joinedup.FieldError
	f.Offset, f.Limit, fields = readPage(q, defaultLimit)
	for _, name := range []string{"after", "before"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		c, err := joinedup.ParseDeliveryCursor(v)
		if err != nil {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/" + name,
				Message: fmt.Sprintf("The %s cursor is not one that this list gave. Use the next or previous cursor of a page, or start again without it.", name)})
			continue
		}
		if name == "after" {
			f.After = &c
		} else {
			f.Before = &c
		}
	}
	var placers []string
	for _, name := range []string{"offset", "after", "before"} {
		if q.Get(name) != "" {
			placers = append(placers, name)
		}
	}
	if len(placers) > 1 {
		fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/" + placers[1],
			Message: "Give at most one of offset, after and before: each places the page on its own."})
	}
	return fields
}

// deliveryCursors returns the cursors of the pages next to p, which the
// filter's limit cut from its list, or "" where the list ends. They come
// from the page as the store returned it, before any delivery the caller
// may not see was dropped, so that no delivery is passed over.
func deliveryCursors(p joinedup.DeliveryPage) (previous, next string) {
	if len(p.Items) == 0 {
		return "", ""
	}
	if p.Offset > 0 {
		previous = joinedup.CursorOf(p.Items[0]).String()
	}
	if p.Offset+len(p.Items) < p.Total {
		next = joinedup.CursorOf(p.Items[len(p.Items)-1]).String()
	}
	return previous, next
}

// newCursorPager returns the place of the page p of deliveries, of which
// shown are shown, for its caption and its Previous and Next links.
// pageURL returns the URL of the page after or before a cursor, or of the
// first page when name is "".
func newCursorPager(p joinedup.DeliveryPage, shown int, pageURL func(name, cursor string) string) pager {
	pg := pager{Total: p.Total}
	if shown > 0 {
		pg.First, pg.Last = p.Offset+1, p.Offset+shown
	}
	previous, next := deliveryCursors(p)
	if previous != "" {
		pg.PreviousURL = pageURL("before", previous)
	}
	if next != "" {
		pg.NextURL = pageURL("after", next)
	}
	if len(p.Items) == 0 && p.Total > 0 {
		pg.PastEnd, pg.FirstURL = true, pageURL("", "")
	}
	return pg
}
