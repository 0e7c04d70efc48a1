package audit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/joinedup/joinedup"
)

// Paths of the log's public endpoints. Checkpoints and proofs reveal no
// entry, so they are served to anyone.
const (
	PathCheckpoint  = "/api/v1/audit/checkpoint"
	PathInclusion   = "/api/v1/audit/proof/inclusion"
	PathConsistency = "/api/v1/audit/proof/consistency"
)

// CheckpointResponse is the JSON body of GET PathCheckpoint. RootHash is
// standard base64, and Note is the signed checkpoint to keep and check.
type CheckpointResponse struct {
	Origin   string `json:"origin"`
	Size     uint64 `json:"size"`
	RootHash []byte `json:"rootHash"`
	Note     string `json:"note"`
}

// InclusionResponse is the JSON body of GET PathInclusion?index=&size=.
// Hashes are the proof's node hashes in standard base64, from the leaf up.
type InclusionResponse struct {
	Index  uint64   `json:"index"`
	Size   uint64   `json:"size"`
	Hashes [][]byte `json:"hashes"`
}

// ConsistencyResponse is the JSON body of GET PathConsistency?old=&new=.
type ConsistencyResponse struct {
	Old    uint64   `json:"old"`
	New    uint64   `json:"new"`
	Hashes [][]byte `json:"hashes"`
}

type handler struct {
	log *Log
	mux *http.ServeMux
}

// NewHandler returns the HTTP handler of the log's public endpoints, which
// serves the full paths above. Errors are RFC 9457 problem details, with
// the type "urn:joinedup:problem:" followed by the error code, as in the
// rest of the hub's API.
func NewHandler(log *Log) http.Handler {
	h := &handler{log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET "+PathCheckpoint, h.checkpoint)
	h.mux.HandleFunc("GET "+PathInclusion, h.inclusion)
	h.mux.HandleFunc("GET "+PathConsistency, h.consistency)
	return h.mux
}

func (h *handler) checkpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := h.log.Checkpoint(r.Context())
	if err != nil {
		h.error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, CheckpointResponse{Origin: cp.Origin, Size: cp.Size, RootHash: cp.Hash, Note: string(cp.Note)})
}

func (h *handler) inclusion(w http.ResponseWriter, r *http.Request) {
	index, err1 := queryUint(r, "index")
	size, err2 := queryUint(r, "size")
	if err := firstError(err1, err2); err != nil {
		h.error(w, r, err)
		return
	}
	hashes, err := h.log.InclusionProof(r.Context(), index, size)
	if err != nil {
		h.error(w, r, err)
		return
	}
	// A proof for a given index and size never changes.
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	writeJSON(w, http.StatusOK, InclusionResponse{Index: index, Size: size, Hashes: nonNil(hashes)})
}

func (h *handler) consistency(w http.ResponseWriter, r *http.Request) {
	old, err1 := queryUint(r, "old")
	new, err2 := queryUint(r, "new")
	if err := firstError(err1, err2); err != nil {
		h.error(w, r, err)
		return
	}
	hashes, err := h.log.ConsistencyProof(r.Context(), old, new)
	if err != nil {
		h.error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	writeJSON(w, http.StatusOK, ConsistencyResponse{Old: old, New: new, Hashes: nonNil(hashes)})
}

func queryUint(r *http.Request, name string) (uint64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, joinedup.Invalid(fmt.Sprintf("Query parameter %s is missing.", name),
			joinedup.FieldError{Field: "/" + name, Message: "Enter a whole number of 0 or more"})
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, joinedup.Invalid(fmt.Sprintf("Query parameter %s is invalid: %q is not a whole number of 0 or more.", name, s),
			joinedup.FieldError{Field: "/" + name, Message: "Enter a whole number of 0 or more"})
	}
	return v, nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func nonNil(hashes [][]byte) [][]byte {
	if hashes == nil {
		return [][]byte{}
	}
	return hashes
}

func (h *handler) error(w http.ResponseWriter, r *http.Request, err error) {
	code := joinedup.ErrorCode(err)
	status, title, ok := joinedup.HTTPStatus(code)
	if !ok || code == joinedup.EINTERNAL {
		code = joinedup.EINTERNAL
		status, title, _ = joinedup.HTTPStatus(code)
		h.log.logger.ErrorContext(r.Context(), "audit request failed", "path", r.URL.Path, "error", err)
	}
	detail := joinedup.ErrorMessage(err)
	if code == joinedup.EINTERNAL {
		detail = "Something went wrong in the audit log. Try again later."
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(joinedup.Problem{
		Type:     joinedup.ProblemTypePrefix + code,
		Title:    title,
		Status:   status,
		Detail:   detail,
		Instance: r.URL.Path,
		// The hub's middleware sets the request id header before the
		// handler runs.
		RequestID: w.Header().Get("X-Request-Id"),
		Errors:    joinedup.ErrorFields(err),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
