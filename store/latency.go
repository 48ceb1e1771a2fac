package store

import (
	bolt "go.etcd.io/bbolt"
)

// PutLatency stores value under key in the latency bucket, which holds
// latency tables; their writer owns the key scheme and encoding.
func (s *Store) PutLatency(key string, value []byte) error {
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLatency).Put([]byte(key), value)
	})
}

// Latency returns a copy of the value stored under key in the latency
// bucket, or nil when there is none.
func (s *Store) Latency(key string) ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketLatency).Get([]byte(key)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, err
}
