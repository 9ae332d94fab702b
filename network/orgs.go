package network

import (
	"fmt"
	"strings"
)

// Org is one of the consortium's three parties.
type Org string

// The consortium's organisations (the paper's Table 2).
const (
	Provider  Org = "Provider"
	Developer Org = "Developer"
	User      Org = "User"
)

// Orgs lists the organisations in a fixed order: index i also names the
// party's orderer (orderer i belongs to Orgs()[i]).
func Orgs() []Org { return []Org{Provider, Developer, User} }

// ParseOrg accepts an organisation name in any case, with or without the
// "MSP" suffix ("provider", "ProviderMSP").
func ParseOrg(s string) (Org, error) {
	t := strings.TrimSuffix(strings.ToLower(s), "msp")
	for _, o := range Orgs() {
		if strings.ToLower(string(o)) == t {
			return o, nil
		}
	}
	return "", fmt.Errorf("unknown organisation %q (want Provider, Developer or User)", s)
}

// MSPID is the organisation's application MSP ID, e.g. ProviderMSP.
func (o Org) MSPID() string { return string(o) + "MSP" }

// OrdererMSPID is the MSP ID of the organisation's orderer, e.g. ProviderOrdererMSP.
func (o Org) OrdererMSPID() string { return string(o) + "OrdererMSP" }

func (o Org) lower() string { return strings.ToLower(string(o)) }

// domain of the organisation's peers (cryptogen).
func (o Org) domain() string { return o.lower() + ".e2l.local" }

// ordererDomain of the organisation's orderer (cryptogen).
func (o Org) ordererDomain() string { return o.lower() + "-orderer.e2l.local" }

func (o Org) index() int {
	for i, x := range Orgs() {
		if x == o {
			return i
		}
	}
	return -1
}

func (o Org) valid() error {
	if o.index() < 0 {
		return fmt.Errorf("unknown organisation %q", string(o))
	}
	return nil
}
