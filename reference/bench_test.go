package reference_test

import (
	"testing"

	"github.com/joinedup/joinedup/reference"
	"github.com/joinedup/joinedup/reference/population"
)

// BenchmarkBirthGPPractice measures one birth at the GP practice, from the
// signed request to the response: verify, look the parents up among the
// 1,000-family population's patients (about 500 families), add the baby
// and store the outcome, on SQLite with synchronous=FULL.
func BenchmarkBirthGPPractice(b *testing.B) {
	h := newHarness(b, reference.Config{Families: population.DefaultFamilies})
	births := population.Births(testSeed, population.DemoFamilies, today)

	i := 0
	for b.Loop() {
		d := h.birth("gp-practice", births[i%len(births)])
		h.act(d)
		i++
	}
}
