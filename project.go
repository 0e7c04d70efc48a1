package joinedup

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// withheld lists top-level members of a life event's payload that are never
// sent to a service, whatever it declared.
var withheld = map[string]bool{"consent": true}

// Project returns the parts of payload named by fields, dotted paths such
// as "child.dateOfBirth" or "parents.name". A path through an array applies
// to each element, and a path that ends on an object keeps all of it. A
// service receives only what Project returns for its declared fields.
func Project(payload json.RawMessage, fields []string) (json.RawMessage, error) {
	var doc any
	if err := json.Unmarshal(payload, &doc); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return projectDoc(doc, fields)
}

// ProjectCovered returns Project(payload, fields) with the parents that
// onBehalf does not cover left out, for a service told on the informant's
// consent.
func ProjectCovered(payload json.RawMessage, fields, onBehalf []string) (json.RawMessage, error) {
	var doc any
	if err := json.Unmarshal(payload, &doc); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	if m, ok := doc.(map[string]any); ok {
		cover(m, onBehalf)
	}
	return projectDoc(doc, fields)
}

func projectDoc(doc any, fields []string) (json.RawMessage, error) {
	paths := make([][]string, 0, len(fields))
	for _, f := range fields {
		p := strings.Split(f, ".")
		if withheld[p[0]] {
			continue
		}
		paths = append(paths, p)
	}
	out, ok := project(doc, paths)
	if !ok {
		out = map[string]any{}
	}
	return json.Marshal(out)
}

// project returns the parts of v that paths select and whether any did.
func project(v any, paths [][]string) (any, bool) {
	for _, p := range paths {
		if len(p) == 0 {
			return v, true
		}
	}
	switch v := v.(type) {
	case map[string]any:
		byKey := map[string][][]string{}
		for _, p := range paths {
			byKey[p[0]] = append(byKey[p[0]], p[1:])
		}
		out := map[string]any{}
		for key, rest := range byKey {
			child, present := v[key]
			if !present {
				continue
			}
			if sub, ok := project(child, rest); ok {
				out[key] = sub
			}
		}
		return out, len(out) > 0
	case []any:
		out := make([]any, 0, len(v))
		for _, elem := range v {
			sub, ok := project(elem, paths)
			if !ok {
				sub = map[string]any{}
			}
			out = append(out, sub)
		}
		return out, true
	}
	return nil, false
}

// WithinFields returns the dotted paths of fields that lie within allowed,
// the paths a consent decision recorded. A path equal to or below an
// allowed path is kept, and an allowed path below a requested one is kept
// in its place, so the result selects what both select. A nil allowed,
// from a decision recorded before the hub kept its fields, returns fields
// unchanged.
func WithinFields(fields, allowed []string) []string {
	if allowed == nil {
		return fields
	}
	within := func(path, outer string) bool { return path == outer || strings.HasPrefix(path, outer+".") }
	out := []string{}
	for _, f := range fields {
		for _, a := range allowed {
			switch {
			case within(f, a):
				out = append(out, f)
			case within(a, f):
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Covers reports whether onBehalf, a consent's list of JSON Pointers such
// as "/parents/1", names the parent at index parent of a birth
// registration. ProjectCovered sends a parent's details only when it does.
func Covers(onBehalf []string, parent int) bool {
	return slices.Contains(onBehalf, "/parents/"+strconv.Itoa(parent))
}

// CoveredPointers returns onBehalf, a consent's JSON Pointers, with each
// "/parents/N" numbered as ProjectCovered numbers that parent: it keeps
// only the parents onBehalf covers, counted again from 0.
func CoveredPointers(onBehalf []string) []string {
	var covered []int
	for _, p := range onBehalf {
		if n, ok := parentIndex(p); ok {
			covered = append(covered, n)
		}
	}
	slices.Sort(covered)
	out := make([]string, len(onBehalf))
	for i, p := range onBehalf {
		out[i] = p
		if n, ok := parentIndex(p); ok {
			out[i] = "/parents/" + strconv.Itoa(slices.Index(covered, n))
		}
	}
	return out
}

// parentIndex returns N of a pointer "/parents/N".
func parentIndex(pointer string) (int, bool) {
	rest, ok := strings.CutPrefix(pointer, "/parents/")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

// cover removes from a birth registration doc the parents that onBehalf
// does not cover. The informant cannot consent for another adult, so a
// service told on that consent gets only the parents it covers. The
// informant's "parent" index is renumbered to match. It reports whether it
// changed doc.
func cover(doc map[string]any, onBehalf []string) bool {
	parents, ok := doc["parents"].([]any)
	if !ok {
		return false
	}

	kept := make([]any, 0, len(parents))
	renumbered := make(map[int]int, len(parents))
	for i, p := range parents {
		if Covers(onBehalf, i) {
			renumbered[i] = len(kept)
			kept = append(kept, p)
		}
	}
	if len(kept) == len(parents) {
		return false
	}

	doc["parents"] = kept
	if informant, ok := doc["informant"].(map[string]any); ok {
		if i, ok := informant["parent"].(float64); ok {
			if n, ok := renumbered[int(i)]; ok {
				informant["parent"] = n
			} else {
				delete(informant, "parent")
			}
		}
	}
	return true
}
