package daemon

import (
	"errors"
	"testing"

	"github.com/deskphone/phoned/firmware/phone"
)

// The status's storage: absent until a state write fails, then the count
// and the error; a later success clears the error, not the count.
func TestStorageStatus(t *testing.T) {
	g := newGlue(t, phone.Config{})
	if st := g.d.Status(); st.Storage != nil {
		t.Fatalf("storage before any failure: %+v", st.Storage)
	}
	g.d.NoteStateWrite(nil)
	if st := g.d.Status(); st.Storage != nil {
		t.Fatalf("storage after a good write: %+v", st.Storage)
	}
	g.d.NoteStateWrite(errors.New("cfgstore: write /state/x.tmp: no space left on device"))
	g.d.NoteStateWrite(errors.New("cfgstore: write /state/y.tmp: no space left on device"))
	st := g.d.Status().Storage
	if st == nil || st.WriteErrors != 2 || st.Error != "cfgstore: write /state/y.tmp: no space left on device" ||
		st.LastErrorAt == nil || !st.LastErrorAt.Equal(g.clk.Now()) {
		t.Fatalf("storage after two failures: %+v", st)
	}
	g.d.NoteStateWrite(nil)
	if st := g.d.Status().Storage; st == nil || st.WriteErrors != 2 || st.Error != "" || st.LastErrorAt == nil {
		t.Fatalf("storage after a good write again: %+v", st)
	}
}
