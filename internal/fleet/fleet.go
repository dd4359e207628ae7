// Package fleet turns many miner.Miner values into one controllable fleet:
// an inventory, a poller that reads every machine with bounded concurrency
// and per-call deadlines, and an executor that applies setpoints to many
// machines at once with retries and read-back verification.
//
// A machine that does not answer is marked offline with its reason and never
// stalls the others. The package decides nothing: which machines should run
// is dispatch's job; this package carries decisions out and reports what
// happened per machine.
package fleet

import (
	"fmt"
	"net/netip"

	"github.com/gridminer/gridminer/internal/miner"
)

// Member is one machine in the fleet.
type Member struct {
	ID    string // stable identifier, unique in the fleet (the address by default)
	Miner miner.Miner
}

// Inventory is the fleet's machines in a fixed order.
type Inventory struct {
	members []Member
	byID    map[string]int
}

// NewInventory checks that IDs are unique and non-empty.
func NewInventory(members []Member) (*Inventory, error) {
	inv := &Inventory{members: members, byID: make(map[string]int, len(members))}
	for i, m := range members {
		if m.ID == "" {
			return nil, fmt.Errorf("fleet member %d: empty id", i)
		}
		if m.Miner == nil {
			return nil, fmt.Errorf("fleet member %q: no miner", m.ID)
		}
		if j, dup := inv.byID[m.ID]; dup {
			return nil, fmt.Errorf("fleet member %q: duplicate id (members %d and %d)", m.ID, j, i)
		}
		inv.byID[m.ID] = i
	}
	return inv, nil
}

// Members returns the members in inventory order. The slice must not be modified.
func (inv *Inventory) Members() []Member { return inv.members }

// Len returns the number of machines.
func (inv *Inventory) Len() int { return len(inv.members) }

// Get returns the member with the given id.
func (inv *Inventory) Get(id string) (Member, bool) {
	i, ok := inv.byID[id]
	if !ok {
		return Member{}, false
	}
	return inv.members[i], true
}

// Index returns the position of id in inventory order.
func (inv *Inventory) Index(id string) (int, bool) {
	i, ok := inv.byID[id]
	return i, ok
}

// AddrRange returns count IPv4 addresses starting at first, skipping any
// whose last octet is 0 or 255 (network and broadcast addresses in a /24,
// which real sites never give miners). It is how configs name blocks of
// machines ("127.1.0.1, 300 of them") and how the simulator assigns them.
func AddrRange(first netip.Addr, count int) ([]netip.Addr, error) {
	if !first.Is4() {
		return nil, fmt.Errorf("address range start %s: not an IPv4 address", first)
	}
	if count < 0 {
		return nil, fmt.Errorf("address range of %d: count must not be negative", count)
	}
	out := make([]netip.Addr, 0, count)
	a := first
	for len(out) < count {
		if !a.IsValid() || !a.Is4() {
			return nil, fmt.Errorf("address range from %s: runs out of IPv4 space after %d addresses", first, len(out))
		}
		if b := a.As4(); b[3] != 0 && b[3] != 255 {
			out = append(out, a)
		}
		next := a.Next()
		if !next.IsValid() {
			if len(out) < count {
				return nil, fmt.Errorf("address range from %s: runs out of IPv4 space after %d addresses", first, len(out))
			}
			break
		}
		a = next
	}
	return out, nil
}
