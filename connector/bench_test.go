package connector_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/webhook"
)

// BenchmarkReceiverServeHTTP measures one new delivery end to end: verify
// the signature, record the message, run a handler that writes one row and
// store the outcome, all in one SQLite transaction on the local disk.
func BenchmarkReceiverServeHTTP(b *testing.B) {
	path := filepath.Join(b.TempDir(), "service.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE effects (event_id TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	secret := webhook.NewSecret()
	signer, _ := webhook.NewSigner(secret)
	r, err := connector.New(context.Background(), connector.Config{
		Service: "bench", Secrets: []string{secret}, DB: db,
		Handler: connector.HandlerFunc(func(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO effects (event_id) VALUES ($1)`, e.ID); err != nil {
				return joinedup.Outcome{}, err
			}
			return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Added to the patient list."}, nil
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}

	i := 0
	for b.Loop() {
		id := fmt.Sprintf("dlv_%d", i)
		i++
		body := []byte(`{"specversion":"1.0","id":"` + id + `","source":"http://127.0.0.1:8080","type":"uk.gov.joinedup.birth.registered","data":{}}`)
		req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", connector.ContentType)
		signer.SetHeaders(req.Header, id, time.Now(), body)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
