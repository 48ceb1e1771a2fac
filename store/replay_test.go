package store

import (
	"os"
	"testing"
)

func TestReplay_CountsRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	r := newRun(t, s)
	if err := s.PutTrials(r.ID, trials(r.ID, 1, 1)); err != nil {
		t.Fatal(err)
	}
	want := Replay{Trial: r.ID + "/1", Epochs: 2, TrainImages: 64, TestImages: 32, TrainSplitImages: 60000, TestSplitImages: 10000}
	if err := s.AddReplay(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Replays(want.Trial)
	if err != nil || len(got) != 1 {
		t.Fatalf("Replays = %v, %v; want one replay", got, err)
	}
	if got[0].TrainImages != 64 || got[0].TestImages != 32 || got[0].TrainSplitImages != 60000 || got[0].TestSplitImages != 10000 {
		t.Errorf("stored image counts = %+v, want 64 32 60000 10000", got[0])
	}
	if !got[0].PartialTest() {
		t.Error("PartialTest of a replay on 32 of 10000 test images = false, want true")
	}
}

func TestReplay_PartialTest(t *testing.T) {
	cases := []struct {
		name        string
		test, split int
		want        bool
	}{
		{"part of the split", 50, 10000, true},
		{"whole split", 10000, 10000, false},
		{"counts not recorded", 0, 0, false},
	}
	for _, c := range cases {
		r := Replay{TestImages: c.test, TestSplitImages: c.split}
		if got := r.PartialTest(); got != c.want {
			t.Errorf("%s: PartialTest = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCommit_FileMode(t *testing.T) {
	s, _ := openTemp(t)
	r := newRun(t, s)
	if err := s.Commit(r.ID, trials(r.ID, 1, 1), Checkpoint{Batch: 1, Strategy: []byte("s1")}, writeBytes("weights-1")); err != nil {
		t.Fatal(err)
	}
	c, err := s.Checkpoint(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(s.filePath(c.Supernet.Name))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("checkpoint file mode = %v, want -rw-r--r--", st.Mode().Perm())
	}
}
