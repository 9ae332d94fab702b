package audit

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
)

// element is one node of a configuration tree: a group, a value or a
// policy, at its path.
type element struct {
	kind      string // "group", "value" or "policy"
	path      string // "/Channel/Application/ProviderMSP/MSP"
	parent    string // the path of the group holding it ("" for /Channel)
	version   uint64
	modPolicy string
	group     *common.ConfigGroup
	value     *common.ConfigValue
	policy    *common.ConfigPolicy
}

func (e *element) key() string { return e.kind + " " + e.path }

// requiredPolicy is the policy a change of the element must satisfy, as
// Fabric resolves its mod_policy: relative names within the group (for a
// group, the group itself; for a value or policy, the group holding it).
func (e *element) requiredPolicy() string {
	if e.kind == "group" {
		return ResolvePolicy(e.path, e.modPolicy)
	}
	return ResolvePolicy(e.parent, e.modPolicy)
}

// flatten maps every element of a configuration tree by kind and path.
func flatten(root *common.ConfigGroup) map[string]*element {
	out := map[string]*element{}
	var walk func(path, parent string, g *common.ConfigGroup)
	walk = func(path, parent string, g *common.ConfigGroup) {
		e := &element{kind: "group", path: path, parent: parent, version: g.GetVersion(), modPolicy: g.GetModPolicy(), group: g}
		out[e.key()] = e
		for k, v := range g.GetValues() {
			e := &element{kind: "value", path: path + "/" + k, parent: path, version: v.GetVersion(), modPolicy: v.GetModPolicy(), value: v}
			out[e.key()] = e
		}
		for k, p := range g.GetPolicies() {
			e := &element{kind: "policy", path: path + "/" + k, parent: path, version: p.GetVersion(), modPolicy: p.GetModPolicy(), policy: p}
			out[e.key()] = e
		}
		for k, sub := range g.GetGroups() {
			walk(path+"/"+k, path, sub)
		}
	}
	if root != nil {
		walk("/Channel", "", root)
	}
	return out
}

// same compares two elements as a configuration holds them: version,
// mod_policy and content (for a group, the names of its children).
func same(a, b *element) bool {
	if a.kind != b.kind || a.version != b.version || a.modPolicy != b.modPolicy {
		return false
	}
	switch a.kind {
	case "value":
		return bytes.Equal(a.value.GetValue(), b.value.GetValue())
	case "policy":
		return proto.Equal(a.policy.GetPolicy(), b.policy.GetPolicy())
	}
	return sameKeys(a.group.GetGroups(), b.group.GetGroups()) && sameKeys(a.group.GetValues(), b.group.GetValues()) &&
		sameKeys(a.group.GetPolicies(), b.group.GetPolicies())
}

func sameKeys[V any](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// updateProblems checks that configuration block b, whose configuration
// is next, is an update of prev that Fabric would have accepted: the next
// sequence of the same channel, produced by its last_update (a
// CONFIG_UPDATE whose read set matches prev and whose write set holds
// every changed element), and authorized: for each element added, removed
// or modified, the mod_policy of that element in prev (for an added or
// removed one, of the group holding it) is satisfied by the update's
// signatures, verified against prev's organisations at the block's time.
func updateProblems(b *Block, prev, next *Trust) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	n := b.Number
	if got, want := next.Config.GetSequence(), prev.Config.GetSequence()+1; got != want {
		add("configuration block %d has sequence %d, configuration block %d has %d: the next configuration has %d", n, got, prev.ConfigBlock, want-1, want)
	}
	at, ok := blockTime(b)
	if !ok {
		add("configuration block %d carries no timestamp to judge its signers' certificates at", n)
		return p
	}
	if next.lastUpdate == nil {
		add("configuration block %d carries no configuration update (last_update) to authorize its changes", n)
		return p
	}
	var payload common.Payload
	var chdr common.ChannelHeader
	var cue common.ConfigUpdateEnvelope
	var cu common.ConfigUpdate
	if err := proto.Unmarshal(next.lastUpdate.GetPayload(), &payload); err != nil {
		add("configuration block %d: its configuration update does not decode: %v", n, err)
		return p
	}
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &chdr); err != nil {
		add("configuration block %d: its configuration update's header does not decode: %v", n, err)
		return p
	}
	if common.HeaderType(chdr.GetType()) != common.HeaderType_CONFIG_UPDATE {
		add("configuration block %d: its last update is a %s, not a CONFIG_UPDATE", n, common.HeaderType(chdr.GetType()))
		return p
	}
	if err := proto.Unmarshal(payload.GetData(), &cue); err != nil {
		add("configuration block %d: its configuration update envelope does not decode: %v", n, err)
		return p
	}
	if err := proto.Unmarshal(cue.GetConfigUpdate(), &cu); err != nil {
		add("configuration block %d: its configuration update does not decode: %v", n, err)
		return p
	}
	if cu.GetChannelId() != prev.Channel || chdr.GetChannelId() != prev.Channel {
		add("configuration block %d: its configuration update is for channel %q (header %q), not %s", n, cu.GetChannelId(), chdr.GetChannelId(), prev.Channel)
	}

	old, cur := flatten(prev.Config.GetChannelGroup()), flatten(next.Config.GetChannelGroup())
	read, write := flatten(cu.GetReadSet()), flatten(cu.GetWriteSet())
	for _, k := range sortedKeys(read) {
		if o := old[k]; o == nil || o.version != read[k].version {
			add("configuration block %d: its update's read set wants %s %s at version %d, configuration block %d does not hold it", n, read[k].kind, read[k].path, read[k].version, prev.ConfigBlock)
		}
	}
	// Each change, under the policy that must authorize it.
	changes := map[string][]string{}
	modOf := map[string]string{}
	require := func(e *element, what string) {
		pol := e.requiredPolicy()
		changes[pol] = append(changes[pol], what)
		modOf[pol] = e.modPolicy
	}
	keys := sortedKeys(old)
	for k := range cur {
		if old[k] == nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		o, c := old[k], cur[k]
		switch {
		case o != nil && c != nil && same(o, c):
			continue
		case o != nil && c != nil:
			if c.version != o.version+1 {
				add("configuration block %d: %s %s changed from version %d to %d, Fabric moves a changed element to the next version", n, c.kind, c.path, o.version, c.version)
			}
			require(o, "changes "+c.path)
		case c != nil: // added: its group's change authorizes it
			if c.version != 0 {
				add("configuration block %d: %s %s is new at version %d, Fabric starts new elements at 0", n, c.kind, c.path, c.version)
			}
			if g := old["group "+c.parent]; g != nil {
				require(g, "adds "+c.path)
			}
		default: // removed: its group's change authorizes it
			if cur["group "+o.parent] != nil {
				require(old["group "+o.parent], "removes "+o.path)
			}
		}
		if c == nil {
			continue
		}
		if c.modPolicy == "" {
			add("configuration block %d: %s %s has no mod_policy", n, c.kind, c.path)
		}
		if w := write[k]; w == nil || !same(w, c) {
			add("configuration block %d: %s %s differs from configuration block %d but not as its update's write set says", n, c.kind, c.path, prev.ConfigBlock)
		}
	}
	// And the converse, as Fabric's peers check (the update must produce
	// exactly the configuration the block holds): every element the
	// update changes (in its write set at another version than in its read
	// set) is in the new configuration as written.
	for _, k := range sortedKeys(write) {
		w, r := write[k], read[k]
		if r != nil && r.version == w.version {
			continue
		}
		if c := cur[k]; c == nil || !same(c, w) {
			add("configuration block %d does not hold %s %s as its update writes it", n, w.kind, w.path)
		}
	}
	if len(changes) == 0 {
		add("configuration block %d changes nothing in configuration block %d", n, prev.ConfigBlock)
		return p
	}

	var signed []SignedData
	for i, s := range cue.GetSignatures() {
		var shdr common.SignatureHeader
		if err := proto.Unmarshal(s.GetSignatureHeader(), &shdr); err != nil {
			add("configuration block %d: signature %d of its update: header: %v", n, i, err)
			continue
		}
		signed = append(signed, SignedData{Identity: shdr.GetCreator(),
			Data: bytes.Join([][]byte{s.GetSignatureHeader(), cue.GetConfigUpdate()}, nil), Signature: s.GetSignature()})
	}
	name := func(i int) string { return fmt.Sprintf("update signature %d", i) }
	signers, rejected := prev.Signers(signed, name)
	for _, pol := range sortedKeys(changes) {
		err := prev.evaluate(pol, signers, rejected, at, name)
		if err == nil {
			continue
		}
		by := "nobody (no valid signature)"
		if pe, ok := err.(*PolicyError); ok {
			by = pe.SignedBy()
		}
		mod := modOf[pol] + " = " + pol + ", "
		if modOf[pol] == pol {
			mod = pol + " = "
		}
		add("configuration block %d %s (mod_policy %s%s) but the update is signed only by %s: %v",
			n, strings.Join(changes[pol], ", "), mod, prev.DescribePolicy(pol), by, err)
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
