package chaincode_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeLedger is the world state of one channel: a sorted key space like
// LevelDB's. Transactions simulate against it and commit explicitly.
type fakeLedger struct {
	state map[string][]byte
	txs   int
}

func newLedger() *fakeLedger { return &fakeLedger{state: map[string][]byte{}} }

// snapshot copies the state, to compare before and after.
func (l *fakeLedger) snapshot() map[string]string {
	m := make(map[string]string, len(l.state))
	for k, v := range l.state {
		m[k] = string(v)
	}
	return m
}

// keys returns the keys in [start, end) in byte order.
func (l *fakeLedger) keys(start, end string) []string {
	var ks []string
	for k := range l.state {
		if k >= start && k < end {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

// tx starts a transaction at time now.
func (l *fakeLedger) tx(now time.Time) *fakeStub {
	l.txs++
	return &fakeStub{
		ledger: l, txID: fmt.Sprintf("tx%04d", l.txs),
		ts: timestamppb.New(now), writes: map[string][]byte{}, reads: map[string]bool{},
	}
}

// fakeStub is the subset of the shim's stub the contract uses, with Fabric's
// semantics: reads see the committed state only (not the transaction's own
// writes), writes are applied by commit, paginated queries are refused in a
// transaction with writes, and an empty value is refused (Fabric would
// delete the key). Methods the contract does not use panic (nil embedded
// interface).
type fakeStub struct {
	shim.ChaincodeStubInterface

	ledger *fakeLedger
	txID   string
	ts     *timestamppb.Timestamp
	writes map[string][]byte
	reads  map[string]bool
	// readLog lists every read in call order, repeats included: a GetState
	// as its key, a GetStateByRange as rangeRead(start, end); rangeReads
	// holds those ranges. putLog lists every PutState key; ranges every
	// other range query: a partial composite key one as
	// "objectType[attrs]", a paginated GetStateByRange as
	// rangeRead(start, end).
	readLog    []string
	rangeReads [][2]string
	putLog     []string
	ranges     []string
	paginated  bool
	event      *peer.ChaincodeEvent
	// failEvent makes SetEvent fail; failGet makes GetState fail for keys
	// with this prefix, and GetStateByRange for ranges starting with it.
	failEvent error
	failGet   struct {
		prefix string
		err    error
	}
	// fn, args and creator serve contractapi's Invoke path.
	fn      string
	args    []string
	creator []byte
}

func (s *fakeStub) GetFunctionAndParameters() (string, []string) { return s.fn, s.args }
func (s *fakeStub) GetCreator() ([]byte, error)                  { return s.creator, nil }

func (s *fakeStub) GetTxID() string                                 { return s.txID }
func (s *fakeStub) GetTxTimestamp() (*timestamppb.Timestamp, error) { return s.ts, nil }
func (s *fakeStub) CreateCompositeKey(o string, a []string) (string, error) {
	return shim.CreateCompositeKey(o, a)
}

func (s *fakeStub) SplitCompositeKey(k string) (string, []string, error) {
	// The real stub's split, through an empty stub.
	return (&shim.ChaincodeStub{}).SplitCompositeKey(k)
}

func (s *fakeStub) GetState(k string) ([]byte, error) {
	if k == "" {
		return nil, errors.New("key must not be an empty string")
	}
	if s.failGet.err != nil && strings.HasPrefix(k, s.failGet.prefix) {
		return nil, s.failGet.err
	}
	s.reads[k] = true
	s.readLog = append(s.readLog, k)
	return s.ledger.state[k], nil
}

// GetStateByRange is the shim's: simple keys only (a composite key's
// first byte is 0); the range is read in full and conflicts, as Fabric's
// phantom check, with any write into it (reads).
func (s *fakeStub) GetStateByRange(start, end string) (shim.StateQueryIteratorInterface, error) {
	if strings.HasPrefix(start, "\x00") || strings.HasPrefix(end, "\x00") {
		return nil, errors.New("fake stub: composite key in a range query")
	}
	if s.failGet.err != nil && strings.HasPrefix(start, s.failGet.prefix) {
		return nil, s.failGet.err
	}
	s.readLog = append(s.readLog, rangeRead(start, end))
	s.rangeReads = append(s.rangeReads, [2]string{start, end})
	return s.iterator(s.ledger.keys(start, end)), nil
}

func (s *fakeStub) GetStateByRangeWithPagination(start, end string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if len(s.writes) > 0 {
		return nil, nil, errors.New("fake stub: paginated query in a transaction with writes")
	}
	if strings.HasPrefix(start, "\x00") || strings.HasPrefix(end, "\x00") {
		return nil, nil, errors.New("fake stub: composite key in a range query")
	}
	s.paginated = true
	s.ranges = append(s.ranges, rangeRead(start, end))
	if bookmark != "" { // LevelDB: the bookmark is the start key
		start = bookmark
	}
	it, meta := s.page(s.ledger.keys(start, end), pageSize)
	return it, meta, nil
}

// reads says whether the transaction read key k, alone or in a range.
func (s *fakeStub) read(k string) bool {
	if s.reads[k] {
		return true
	}
	for _, r := range s.rangeReads {
		if k >= r[0] && k < r[1] {
			return true
		}
	}
	return false
}

func (s *fakeStub) PutState(k string, v []byte) error {
	switch {
	case k == "":
		return errors.New("key must not be an empty string")
	case !utf8.ValidString(k):
		return errors.New("key is not valid UTF-8")
	case len(v) == 0:
		return errors.New("fake stub: empty value (Fabric would delete the key)")
	case s.paginated:
		return errors.New("fake stub: write after a paginated query")
	}
	s.writes[k] = slices.Clone(v)
	s.putLog = append(s.putLog, k)
	return nil
}

func (s *fakeStub) SetEvent(name string, payload []byte) error {
	if s.failEvent != nil {
		return s.failEvent
	}
	if name == "" {
		return errors.New("event name can not be empty string")
	}
	s.event = &peer.ChaincodeEvent{EventName: name, Payload: payload}
	return nil
}

// commit applies the transaction's writes to the ledger.
func (s *fakeStub) commit() { maps.Copy(s.ledger.state, s.writes) }

func partialRange(objectType string, attrs []string) (string, string, error) {
	start, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		return "", "", err
	}
	return start, start + string(utf8.MaxRune), nil
}

func (s *fakeStub) GetStateByPartialCompositeKey(objectType string, attrs []string) (shim.StateQueryIteratorInterface, error) {
	s.ranges = append(s.ranges, objectType+"["+strings.Join(attrs, ", ")+"]")
	start, end, err := partialRange(objectType, attrs)
	if err != nil {
		return nil, err
	}
	return s.iterator(s.ledger.keys(start, end)), nil
}

func (s *fakeStub) GetStateByPartialCompositeKeyWithPagination(objectType string, attrs []string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if len(s.writes) > 0 {
		return nil, nil, errors.New("fake stub: paginated query in a transaction with writes")
	}
	s.paginated = true
	s.ranges = append(s.ranges, objectType+"["+strings.Join(attrs, ", ")+"]")
	start, end, err := partialRange(objectType, attrs)
	if err != nil {
		return nil, nil, err
	}
	if bookmark != "" { // LevelDB: the bookmark is the start key
		start = bookmark
	}
	it, meta := s.page(s.ledger.keys(start, end), pageSize)
	return it, meta, nil
}

// page returns the first pageSize keys of ks and the next as the bookmark.
func (s *fakeStub) page(ks []string, pageSize int32) (*fakeIterator, *peer.QueryResponseMetadata) {
	next := ""
	if pageSize > 0 && len(ks) > int(pageSize) {
		next = ks[pageSize]
		ks = ks[:pageSize]
	}
	return s.iterator(ks), &peer.QueryResponseMetadata{FetchedRecordsCount: int32(len(ks)), Bookmark: next}
}

func (s *fakeStub) iterator(ks []string) *fakeIterator {
	it := &fakeIterator{}
	for _, k := range ks {
		it.kvs = append(it.kvs, &queryresult.KV{Namespace: "e2l", Key: k, Value: s.ledger.state[k]})
	}
	return it
}

type fakeIterator struct {
	kvs    []*queryresult.KV
	closed bool
}

func (it *fakeIterator) HasNext() bool { return !it.closed && len(it.kvs) > 0 }
func (it *fakeIterator) Close() error  { it.closed = true; return nil }
func (it *fakeIterator) Next() (*queryresult.KV, error) {
	if !it.HasNext() {
		return nil, errors.New("no more results")
	}
	kv := it.kvs[0]
	it.kvs = it.kvs[1:]
	return kv, nil
}

// fakeIdentity is a client identity (cid.ClientIdentity).
type fakeIdentity struct {
	subject, issuer, msp string
	attrs                map[string]string
	cert                 *x509.Certificate
}

// collector returns the identity of host's collector in msp.
func collector(host, msp string) *fakeIdentity {
	return &fakeIdentity{
		subject: "CN=" + host + ",OU=client", issuer: caOf(msp), msp: msp,
		attrs: map[string]string{"e2l.role": "collector", "e2l.host": host},
		cert:  &x509.Certificate{Raw: []byte("DER of " + host + " in " + msp), Subject: pkix.Name{CommonName: host, OrganizationalUnit: []string{"client"}}},
	}
}

// orgAdmin returns the identity of msp's admin, as cryptogen's Admin@<org>
// (OU=admin under NodeOUs, no attributes).
func orgAdmin(msp string) *fakeIdentity {
	cn := "Admin@" + orgOf(msp) + ".example.com"
	return &fakeIdentity{
		subject: "CN=" + cn + ",OU=admin", issuer: caOf(msp), msp: msp, attrs: map[string]string{},
		cert: &x509.Certificate{Raw: []byte("DER of " + cn), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"admin"}}},
	}
}

// client returns a plain client identity of msp (OU=client, no attributes).
func client(name, msp string) *fakeIdentity {
	return &fakeIdentity{
		subject: "CN=" + name + ",OU=client", issuer: caOf(msp), msp: msp, attrs: map[string]string{},
		cert: &x509.Certificate{Raw: []byte("DER of " + name + " in " + msp), Subject: pkix.Name{CommonName: name, OrganizationalUnit: []string{"client"}}},
	}
}

func orgOf(msp string) string { return strings.ToLower(strings.TrimSuffix(msp, "MSP")) }
func caOf(msp string) string  { return "CN=ca." + orgOf(msp) }

func (f *fakeIdentity) readable() string { return "x509::" + f.subject + "::" + f.issuer }

func (f *fakeIdentity) GetID() (string, error) {
	return base64.StdEncoding.EncodeToString([]byte(f.readable())), nil
}
func (f *fakeIdentity) GetMSPID() (string, error) { return f.msp, nil }
func (f *fakeIdentity) GetAttributeValue(name string) (string, bool, error) {
	v, ok := f.attrs[name]
	return v, ok, nil
}

func (f *fakeIdentity) AssertAttributeValue(name, value string) error {
	if v, ok := f.attrs[name]; !ok || v != value {
		return errors.New("attribute mismatch")
	}
	return nil
}

func (f *fakeIdentity) GetX509Certificate() (*x509.Certificate, error) { return f.cert, nil }

// txContext returns a transaction context over stub signed by id.
func txContext(stub *fakeStub, id *fakeIdentity) *contractapi.TransactionContext {
	ctx := &contractapi.TransactionContext{}
	ctx.SetStub(stub)
	if id != nil {
		ctx.SetClientIdentity(id)
	}
	return ctx
}
