// An independent reference for tapr's ring tests: Dapr's consistent-hash algorithm (pkg/placement/hashing,
// spec §3.5) restated in Go with the same BLAKE2b library Dapr links (golang.org/x/crypto/blake2b).
// It prints the known answers pinned in lib/src/placement/ring.test.ts.
//
//	cd bench/placement/dapr-ring-reference && go run .
package main

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"

	"golang.org/x/crypto/blake2b"
)

func hash(key string) uint64 {
	sum := blake2b.Sum512([]byte(key))
	return binary.LittleEndian.Uint64(sum[:8])
}

type ring struct {
	nodes []uint64
	owner map[uint64]string
}

func build(hosts []string, replicationFactor int) ring {
	r := ring{owner: map[uint64]string{}}
	for _, host := range hosts {
		for i := 0; i < replicationFactor; i++ {
			h := hash(host + strconv.Itoa(i))
			r.owner[h] = host
			r.nodes = append(r.nodes, h)
		}
	}
	sort.Slice(r.nodes, func(i, j int) bool { return r.nodes[i] < r.nodes[j] })
	return r
}

func (r ring) get(actorID string) string {
	h := hash(actorID)
	idx := sort.Search(len(r.nodes), func(i int) bool { return r.nodes[i] >= h })
	if idx >= len(r.nodes) {
		idx = 0
	}
	return r.owner[r.nodes[idx]]
}

func main() {
	for _, s := range []string{"", "abc", "10.0.0.1:500020", "10.0.0.1:5000299", "actor-1"} {
		fmt.Printf("hash %q = %d\n", s, hash(s))
	}

	hosts := []string{"10.0.0.1:50002", "10.0.0.2:50002", "10.0.0.3:50002", "10.0.0.4:50002", "10.0.0.5:50002"}
	r := build(hosts, 100)
	fmt.Printf("ring nodes=%d first=%d last=%d\n", len(r.nodes), r.nodes[0], r.nodes[len(r.nodes)-1])
	for _, id := range []string{"actor-0", "actor-1", "actor-2", "actor-3", "actor-4", "actor-5", "actor-6", "actor-7", "actor-8", "actor-9", "", "ü-unicode-€"} {
		fmt.Printf("owner %q = %s\n", id, r.get(id))
	}
	counts := map[string]int{}
	for n := 0; n < 100000; n++ {
		counts[r.get("id-"+strconv.Itoa(n))]++
	}
	for _, host := range hosts {
		fmt.Printf("count %s = %d\n", host, counts[host])
	}

	small := build([]string{"127.0.0.1:7001", "127.0.0.1:7002"}, 3)
	for _, n := range small.nodes {
		fmt.Printf("vnode rf=3 %d %s\n", n, small.owner[n])
	}
	for _, id := range []string{"a", "b", "order-17", "order-18", "order-19", "user:42", "user:43", "user:44"} {
		fmt.Printf("owner rf=3 %q = %s\n", id, small.get(id))
	}
}
