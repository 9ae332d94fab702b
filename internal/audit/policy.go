package audit

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// The channel policies e2l's evidence rests on.
const (
	// EndorsementPolicy is the channel's default endorsement policy, which
	// e2l's chaincode is deployed with (no --signature-policy).
	EndorsementPolicy = "/Channel/Application/Endorsement"
	// BlockValidationPolicy is what orderer signatures on a block satisfy.
	BlockValidationPolicy = "/Channel/Orderer/BlockValidation"
)

// SignedData is one signature over data by a serialized identity: what
// Fabric's policies are evaluated over (its protoutil.SignedData).
type SignedData struct {
	Identity  []byte // a serialized identity (msp.SerializedIdentity)
	Data      []byte // the bytes signed
	Signature []byte // ASN.1 ECDSA over SHA-256(Data)
}

// Signer is a signature that verified, by an identity of a channel
// organisation.
type Signer struct {
	Index int // position in the signed data
	ID    Identity
}

// PolicyError says why signatures do not satisfy a policy.
type PolicyError struct {
	Path   string // the policy evaluated
	Reason string // what was missing, naming the policy that failed
	// Signers are the distinct identities whose signatures verified.
	Signers []string
	// Rejected are the signatures not counted, each with why.
	Rejected []string
}

func (e *PolicyError) Error() string {
	s := e.Reason
	if len(e.Rejected) > 0 {
		s += "; not counted: " + strings.Join(e.Rejected, "; ")
	}
	return s
}

// SignedBy describes the distinct valid signers ("nobody" when none).
func (e *PolicyError) SignedBy() string {
	if len(e.Signers) == 0 {
		return "nobody (no valid signature)"
	}
	return strings.Join(e.Signers, ", ")
}

// describeSigner names an identity with its MSP, role and common name:
// "ProviderMSP.admin (CN=Admin@provider)".
func (t *Trust) describeSigner(id Identity, at time.Time) string {
	role := "member"
	if m := t.MSPs[id.MSP]; m != nil {
		if rs, err := m.Roles(id.Cert, at); err == nil {
			role = strings.ToLower(rs[len(rs)-1].String())
		}
	}
	return fmt.Sprintf("%s.%s (CN=%s)", id.MSP, role, id.Cert.Subject.CommonName)
}

// Signers verifies signed data as Fabric does before evaluating a policy:
// the identity must be of a channel organisation, the signature must
// verify, and an identity counts once (later signatures by it are
// duplicates). It returns the valid signers and why each other signature
// is not counted; name labels signature i in those messages
// ("endorsement 1").
func (t *Trust) Signers(signed []SignedData, name func(i int) string) ([]Signer, []string) {
	var out []Signer
	var rejected []string
	seen := map[string]int{}
	for i, sd := range signed {
		id, err := parseIdentity(sd.Identity)
		if err != nil {
			rejected = append(rejected, fmt.Sprintf("%s: %v", name(i), err))
			continue
		}
		who := fmt.Sprintf("%s by %s (CN=%s)", name(i), id.MSP, id.Cert.Subject.CommonName)
		if t.MSPs[id.MSP] == nil {
			rejected = append(rejected, fmt.Sprintf("%s: %s is not an organisation of channel %s (config block %d)", who, id.MSP, t.Channel, t.ConfigBlock))
			continue
		}
		key := id.MSP + "\x00" + CertSHA256(id.Cert)
		if j, dup := seen[key]; dup {
			rejected = append(rejected, fmt.Sprintf("%s: the same identity as %s, counted once", who, name(j)))
			continue
		}
		if err := verifySignature(id.Cert, sd.Data, sd.Signature); err != nil {
			rejected = append(rejected, fmt.Sprintf("%s: %v", who, err))
			continue
		}
		seen[key] = i
		out = append(out, Signer{Index: i, ID: id})
	}
	return out, rejected
}

// EvaluatePolicy checks that the signed data satisfy the channel policy at
// path (absolute: "/Channel/Application/Endorsement"), each identity judged
// at the given time. Signature policies are n-out-of trees of principals
// where each signer is used once (Fabric's cauthdsl); implicit meta
// policies ANY, ALL or MAJORITY of a sub-policy over the child groups of
// the group holding the policy. A *PolicyError says what was missing.
func (t *Trust) EvaluatePolicy(path string, signed []SignedData, at time.Time) error {
	signers, rejected := t.Signers(signed, func(i int) string { return fmt.Sprintf("signature %d", i) })
	return t.evaluate(path, signers, rejected, at, func(i int) string { return fmt.Sprintf("signature %d", i) })
}

func (t *Trust) evaluate(path string, signers []Signer, rejected []string, at time.Time, name func(int) string) error {
	e := &evaluator{t: t, at: at, signers: signers, used: map[int]bool{}, why: map[int][]string{}}
	ok, reason := e.eval(path, 0)
	if ok {
		return nil
	}
	pe := &PolicyError{Path: path, Reason: reason, Rejected: rejected}
	for _, s := range signers {
		pe.Signers = append(pe.Signers, t.describeSigner(s.ID, at))
		if e.used[s.Index] {
			continue
		}
		who := fmt.Sprintf("%s by %s (CN=%s)", name(s.Index), s.ID.MSP, s.ID.Cert.Subject.CommonName)
		if len(e.why[s.Index]) > 0 {
			pe.Rejected = append(pe.Rejected, who+": "+strings.Join(e.why[s.Index], "; "))
		} else {
			pe.Rejected = append(pe.Rejected, who+": counts for no principal of this policy")
		}
	}
	return pe
}

type evaluator struct {
	t       *Trust
	at      time.Time
	signers []Signer
	used    map[int]bool     // signers that satisfied some principal
	why     map[int][]string // why a signer did not satisfy its own MSP's principals
}

// lookup finds the policy at an absolute path and the group holding it.
func (t *Trust) lookup(path string) (*common.ConfigPolicy, []string, *common.ConfigGroup, error) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if !strings.HasPrefix(path, "/") || len(parts) < 2 || parts[0] != "Channel" {
		return nil, nil, nil, fmt.Errorf("policy path %q is not of the form /Channel/.../Name", path)
	}
	g := t.Config.GetChannelGroup()
	for _, p := range parts[1 : len(parts)-1] {
		g = g.GetGroups()[p]
		if g == nil {
			return nil, nil, nil, fmt.Errorf("%s: the configuration has no group %s", path, p)
		}
	}
	pol := g.GetPolicies()[parts[len(parts)-1]]
	if pol == nil || pol.GetPolicy() == nil {
		return nil, nil, nil, fmt.Errorf("%s: the configuration has no such policy", path)
	}
	return pol, parts[:len(parts)-1], g, nil
}

const maxPolicyDepth = 16

func (e *evaluator) eval(path string, depth int) (bool, string) {
	if depth > maxPolicyDepth {
		return false, path + ": policies nested too deep"
	}
	pol, groupPath, group, err := e.t.lookup(path)
	if err != nil {
		return false, err.Error()
	}
	switch common.Policy_PolicyType(pol.GetPolicy().GetType()) {
	case common.Policy_SIGNATURE:
		var env common.SignaturePolicyEnvelope
		if err := proto.Unmarshal(pol.GetPolicy().GetValue(), &env); err != nil {
			return false, fmt.Sprintf("%s: signature policy: %v", path, err)
		}
		used := make([]bool, len(e.signers))
		if e.rule(env.GetRule(), env.GetIdentities(), used) {
			for i, u := range used {
				if u {
					e.used[e.signers[i].Index] = true
				}
			}
			return true, ""
		}
		return false, fmt.Sprintf("%s: %s not satisfied", path, describeRule(env.GetRule(), env.GetIdentities()))
	case common.Policy_IMPLICIT_META:
		var imp common.ImplicitMetaPolicy
		if err := proto.Unmarshal(pol.GetPolicy().GetValue(), &imp); err != nil {
			return false, fmt.Sprintf("%s: implicit meta policy: %v", path, err)
		}
		var children []string
		for name := range group.GetGroups() {
			children = append(children, name)
		}
		sort.Strings(children)
		need := 1
		switch imp.GetRule() {
		case common.ImplicitMetaPolicy_ALL:
			need = len(children)
		case common.ImplicitMetaPolicy_MAJORITY:
			need = len(children)/2 + 1
		}
		if len(children) == 0 {
			need = 0 // Fabric: with no sub-policies, zero is any, all and a majority
		}
		var satisfied, failed []string
		for _, c := range children {
			sub := "/" + strings.Join(append(append([]string{}, groupPath...), c, imp.GetSubPolicy()), "/")
			if ok, why := e.eval(sub, depth+1); ok {
				satisfied = append(satisfied, c)
			} else {
				failed = append(failed, why)
			}
		}
		if len(satisfied) >= need {
			return true, ""
		}
		names := "none"
		if len(satisfied) > 0 {
			names = strings.Join(satisfied, ", ")
		}
		return false, fmt.Sprintf("%s: %s of %d sub-policies %s: need %d, satisfied %d (%s)", path, imp.GetRule(), len(children),
			imp.GetSubPolicy(), need, len(satisfied), names)
	}
	return false, fmt.Sprintf("%s: policy type %d is not supported", path, pol.GetPolicy().GetType())
}

// rule evaluates a signature policy rule like Fabric's cauthdsl: each
// n-out-of gate tries its rules in order, each on a copy of the signers
// used so far, keeping the use of those that succeed.
func (e *evaluator) rule(r *common.SignaturePolicy, ids []*msp.MSPPrincipal, used []bool) bool {
	switch r.GetType().(type) {
	case *common.SignaturePolicy_NOutOf_:
		n := r.GetNOutOf()
		verified := int32(0)
		tmp := make([]bool, len(used))
		for _, sub := range n.GetRules() {
			copy(tmp, used)
			if e.rule(sub, ids, tmp) {
				verified++
				copy(used, tmp)
			}
		}
		return verified >= n.GetN()
	case *common.SignaturePolicy_SignedBy:
		i := r.GetSignedBy()
		if i < 0 || int(i) >= len(ids) {
			return false
		}
		for j, s := range e.signers {
			if used[j] {
				continue
			}
			err := e.t.SatisfiesPrincipal(s.ID, ids[i], e.at)
			if err == nil {
				used[j] = true
				return true
			}
			if principalMSP(ids[i]) == s.ID.MSP {
				e.note(s.Index, err.Error())
			}
		}
	}
	return false
}

func (e *evaluator) note(i int, why string) {
	for _, w := range e.why[i] {
		if w == why {
			return
		}
	}
	e.why[i] = append(e.why[i], why)
}

func principalMSP(p *msp.MSPPrincipal) string {
	switch p.GetPrincipalClassification() {
	case msp.MSPPrincipal_ROLE:
		var r msp.MSPRole
		if proto.Unmarshal(p.GetPrincipal(), &r) == nil {
			return r.GetMspIdentifier()
		}
	case msp.MSPPrincipal_ORGANIZATION_UNIT:
		var ou msp.OrganizationUnit
		if proto.Unmarshal(p.GetPrincipal(), &ou) == nil {
			return ou.GetMspIdentifier()
		}
	case msp.MSPPrincipal_IDENTITY:
		var sid msp.SerializedIdentity
		if proto.Unmarshal(p.GetPrincipal(), &sid) == nil {
			return sid.GetMspid()
		}
	}
	return ""
}

// describeRule renders a signature policy in Fabric's policy language:
// OR('ProviderMSP.admin'), AND(...), OutOf(2, ...).
func describeRule(r *common.SignaturePolicy, ids []*msp.MSPPrincipal) string {
	switch r.GetType().(type) {
	case *common.SignaturePolicy_NOutOf_:
		n := r.GetNOutOf()
		var subs []string
		for _, s := range n.GetRules() {
			subs = append(subs, describeRule(s, ids))
		}
		switch {
		case n.GetN() == 1:
			return "OR(" + strings.Join(subs, ", ") + ")"
		case int(n.GetN()) == len(subs):
			return "AND(" + strings.Join(subs, ", ") + ")"
		}
		return fmt.Sprintf("OutOf(%d, %s)", n.GetN(), strings.Join(subs, ", "))
	case *common.SignaturePolicy_SignedBy:
		i := r.GetSignedBy()
		if i < 0 || int(i) >= len(ids) {
			return fmt.Sprintf("<principal %d out of range>", i)
		}
		return describePrincipal(ids[i])
	}
	return "<empty rule>"
}

func describePrincipal(p *msp.MSPPrincipal) string {
	switch p.GetPrincipalClassification() {
	case msp.MSPPrincipal_ROLE:
		var r msp.MSPRole
		if proto.Unmarshal(p.GetPrincipal(), &r) == nil {
			return fmt.Sprintf("'%s.%s'", r.GetMspIdentifier(), strings.ToLower(r.GetRole().String()))
		}
	case msp.MSPPrincipal_ORGANIZATION_UNIT:
		var ou msp.OrganizationUnit
		if proto.Unmarshal(p.GetPrincipal(), &ou) == nil {
			return fmt.Sprintf("'%s.OU=%s'", ou.GetMspIdentifier(), ou.GetOrganizationalUnitIdentifier())
		}
	case msp.MSPPrincipal_IDENTITY:
		if id, err := parseIdentity(p.GetPrincipal()); err == nil {
			return fmt.Sprintf("identity %s (CN=%s)", id.MSP, id.Cert.Subject.CommonName)
		}
	}
	return "<unreadable principal>"
}

// DescribePolicy renders the policy at path: "OR('ProviderMSP.admin')" or
// "MAJORITY Admins".
func (t *Trust) DescribePolicy(path string) string {
	pol, _, _, err := t.lookup(path)
	if err != nil {
		return "missing"
	}
	switch common.Policy_PolicyType(pol.GetPolicy().GetType()) {
	case common.Policy_SIGNATURE:
		var env common.SignaturePolicyEnvelope
		if proto.Unmarshal(pol.GetPolicy().GetValue(), &env) == nil {
			return describeRule(env.GetRule(), env.GetIdentities())
		}
	case common.Policy_IMPLICIT_META:
		var imp common.ImplicitMetaPolicy
		if proto.Unmarshal(pol.GetPolicy().GetValue(), &imp) == nil {
			return fmt.Sprintf("%s %s", imp.GetRule(), imp.GetSubPolicy())
		}
	}
	return "unreadable"
}

// ResolvePolicy turns a mod_policy into an absolute policy path as Fabric
// does: an absolute name as is; a relative one within groupPath (the path
// of the group holding the element, or of the group itself for a group).
func ResolvePolicy(groupPath, modPolicy string) string {
	if strings.HasPrefix(modPolicy, "/") {
		return modPolicy
	}
	return groupPath + "/" + modPolicy
}
