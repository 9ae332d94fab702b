// Package signer loads a collector's Fabric identity: the enrolled
// certificate and its private key, as the Gateway client needs them
// (identity.X509Identity and a low-S ECDSA identity.Sign), plus what the
// collector checks before it starts: the certificate's e2l.host and e2l.role
// attributes (Fabric CA attribute extension, OID 1.2.3.4.5.6.7.8.1) and its
// expiry.
//
//	id, err := signer.Load(certPath, keyPath, "ProviderMSP")
//	if id.Host != cfg.Host { refuse to start }
//	fabricconn.Connect(fabricconn.Config{ID: id.X509, Sign: id.Sign, ...})
//
// The package is pure: it reads the two files it is given and does not log.
package signer
