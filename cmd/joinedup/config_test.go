package main

import (
	"io"
	"strings"
	"testing"
)

func TestDeliveryConcurrencyConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    int
		wantErr string
	}{
		{name: "default", want: 16},
		{name: "flag", args: []string{"-delivery-concurrency", "64"}, want: 64},
		{name: "environment", env: map[string]string{"JOINEDUP_DELIVERY_CONCURRENCY": "32"}, want: 32},
		{name: "zero", args: []string{"-delivery-concurrency", "0"}, wantErr: "-delivery-concurrency must be from 1 to 1024, not 0"},
		{name: "too many", args: []string{"-delivery-concurrency", "1025"}, wantErr: "-delivery-concurrency must be from 1 to 1024, not 1025"},
		{name: "not a number", args: []string{"-delivery-concurrency", "many"}, wantErr: "delivery-concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if cfg.Concurrency != tt.want {
				t.Errorf("Concurrency = %d, want %d", cfg.Concurrency, tt.want)
			}
		})
	}
}
