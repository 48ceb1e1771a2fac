package latency

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"nas/searchspace"
	"nas/store"
)

// ErrNoTable is returned (wrapped) by Load and LoadFor when the store holds
// no table for the space and machine.
var ErrNoTable = errors.New("no latency table")

// Keys in the store's latency bucket:
//
//	table/<space name>/<space hash>/<machine id>  → Table as JSON
//	current/<space name>/<space hash>             → machine id of the table saved last
//	index                                         → []indexEntry as JSON
func tableKey(space, spaceHash, machineID string) string {
	return "table/" + space + "/" + spaceHash + "/" + machineID
}

func currentKey(space, spaceHash string) string {
	return "current/" + space + "/" + spaceHash
}

const indexKey = "index"

// indexEntry lists one stored table.
type indexEntry struct {
	Space     string `json:"space"`
	SpaceHash string `json:"space_hash"`
	MachineID string `json:"machine_id"`
	Machine   string `json:"machine"`
}

// Save stores t under its space and machine, replacing a table of the same
// pair, and makes it the table Load returns for its space. It first checks
// t as Decode does and stores nothing when t fails. The table is written
// before the index and the pointer, so an interrupted Save leaves at worst
// a table that Load does not pick.
func Save(st *store.Store, t *Table) error {
	if err := t.check(); err != nil {
		return fmt.Errorf("latency: save table of space %s: invalid table: %w", t.Space, err)
	}
	data, err := t.Encode()
	if err != nil {
		return err
	}
	id := t.Machine.ID()
	if err := st.PutLatency(tableKey(t.Space, t.SpaceHash, id), data); err != nil {
		return fmt.Errorf("latency: save table: %w", err)
	}

	index, err := readIndex(st)
	if err != nil {
		return err
	}
	entry := indexEntry{Space: t.Space, SpaceHash: t.SpaceHash, MachineID: id, Machine: t.Machine.String()}
	index = slices.DeleteFunc(index, func(e indexEntry) bool {
		return e.Space == entry.Space && e.SpaceHash == entry.SpaceHash && e.MachineID == entry.MachineID
	})
	index = append(index, entry)
	data, err = json.Marshal(index)
	if err != nil {
		return fmt.Errorf("latency: encode table index: %w", err)
	}
	if err := st.PutLatency(indexKey, data); err != nil {
		return fmt.Errorf("latency: save table index: %w", err)
	}
	if err := st.PutLatency(currentKey(t.Space, t.SpaceHash), []byte(id)); err != nil {
		return fmt.Errorf("latency: save current table: %w", err)
	}
	return nil
}

// Load returns the table of space s that was saved last by a profile or an
// import, whichever machine it was measured on, so check Table.Machine when
// that matters. The table is checked against s with CheckSpace. Load
// returns an error wrapping ErrNoTable when the store has none.
func Load(st *store.Store, s searchspace.Space) (*Table, error) {
	hash := SpaceHash(s)
	id, err := st.Latency(currentKey(s.Name, hash))
	if err != nil {
		return nil, fmt.Errorf("latency: load table: %w", err)
	}
	if id == nil {
		return nil, fmt.Errorf("latency: %w for space %s (hash %s) in store %s; build one with `nas latency profile` or import one with `nas latency import`", ErrNoTable, s.Name, hash, st.Path())
	}
	return LoadFor(st, s, string(id))
}

// LoadFor returns the table of space s measured on the machine with id
// machineID (Machine.ID), checked against s with CheckSpace. It returns an
// error wrapping ErrNoTable, and listing the machines that do have a table
// of s, when there is none.
func LoadFor(st *store.Store, s searchspace.Space, machineID string) (*Table, error) {
	hash := SpaceHash(s)
	data, err := st.Latency(tableKey(s.Name, hash, machineID))
	if err != nil {
		return nil, fmt.Errorf("latency: load table: %w", err)
	}
	if data == nil {
		others, err := machinesWithTable(st, s.Name, hash)
		if err != nil {
			return nil, err
		}
		have := "none"
		if len(others) > 0 {
			have = strings.Join(others, ", ")
		}
		return nil, fmt.Errorf("latency: %w for space %s (hash %s) on machine %s in store %s (machines with a table: %s); build one with `nas latency profile` or import one with `nas latency import`", ErrNoTable, s.Name, hash, machineID, st.Path(), have)
	}
	// A stored table that fails Decode's checks was damaged, or stored by a
	// nas that checked less.
	t, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("latency: table for space %s on machine %s in store %s: %w: %w; profile the space again with `nas latency profile` or import a valid table with `nas latency import`", s.Name, machineID, st.Path(), store.ErrCorrupt, err)
	}
	if err := t.CheckSpace(s); err != nil {
		return nil, err
	}
	return t, nil
}

// machinesWithTable returns "id (description)" of each machine that has a
// table of the space.
func machinesWithTable(st *store.Store, space, hash string) ([]string, error) {
	index, err := readIndex(st)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range index {
		if e.Space == space && e.SpaceHash == hash {
			out = append(out, e.MachineID+" ("+e.Machine+")")
		}
	}
	return out, nil
}

func readIndex(st *store.Store) ([]indexEntry, error) {
	data, err := st.Latency(indexKey)
	if err != nil {
		return nil, fmt.Errorf("latency: read table index: %w", err)
	}
	if data == nil {
		return nil, nil
	}
	var index []indexEntry
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("latency: read table index of store %s: %w: %w; restore the store from a backup", st.Path(), store.ErrCorrupt, err)
	}
	return index, nil
}
