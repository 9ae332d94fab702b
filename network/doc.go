// Package network runs e2l's local Hyperledger Fabric consortium as native
// processes on 127.0.0.1: three organisations (Provider, Developer, User),
// each with one peer, one Raft orderer and one Fabric CA, the channel "e2l"
// and the e2l chaincode run as a service (one chaincode server per org).
//
// It is development tooling, used by the e2lnet command (make up / make down)
// and by the integration tests: it executes the Fabric binaries built by
// tools/fabric and keeps Fabric's own Go dependencies out of the product.
//
// All state lives under one directory (Config.Dir): crypto material, node
// configuration and ledgers, logs (logs/<node>.log), pid files (run/) and
// enrolled host identities (hosts/<name>/). All ports derive from
// Config.PortBase, so several networks can run side by side.
//
// Up creates a network from nothing, or, when Dir already holds a network that
// was ready once, restarts its processes (ledgers kept); Config.Fresh forces a
// new network. Nodes run in their own sessions (setsid), so they outlive the
// process that started them; Down stops them by pid file.
package network
