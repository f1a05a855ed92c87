//! A throwaway certificate authority that issues server certificates for test hostnames.

use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair};

/// A test CA.
pub struct TestCa {
    cert: Certificate,
    key: KeyPair,
}

/// A certificate issued by [`TestCa::issue`].
pub struct Issued {
    /// PEM certificate.
    pub cert_pem: String,
    /// PEM private key.
    pub key_pem: String,
    /// DER of the certificate, to compare with what a server presented.
    pub der: Vec<u8>,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA cert");
        TestCa { cert, key }
    }

    /// The CA certificate in PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for `hosts` (the first is also the common name).
    pub fn issue(&self, hosts: &[&str]) -> Issued {
        let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, hosts.first().copied().unwrap_or("test"));
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("sign leaf");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}
