//! Small MaxMind-format (`.mmdb`) country databases written by the tests themselves, so no
//! external geo data is needed. Both record shapes Weir reads can be written.

use mmdb_writer::ipnet::IpNet;
use mmdb_writer::{Value, Writer};

/// How each network's record is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordShape {
    /// GeoIP2 / GeoLite2 / DB-IP Country: `{ continent: {...}, country: { iso_code, names,
    /// geoname_id } }`.
    GeoIp2,
    /// ip-location-db (`@ip-location-db/geo-whois-asn-country-mmdb`): `{ country_code }`.
    CountryCode,
}

fn record(shape: RecordShape, code: &str) -> Value {
    match shape {
        RecordShape::GeoIp2 => Value::map([
            ("continent", Value::map([("code", Value::from("XX"))])),
            (
                "country",
                Value::map([
                    ("geoname_id", Value::from(1_000_u32)),
                    ("iso_code", Value::from(code)),
                    (
                        "names",
                        Value::map([("en", Value::from(format!("Land {code}")))]),
                    ),
                ]),
            ),
        ]),
        RecordShape::CountryCode => Value::map([("country_code", Value::from(code))]),
    }
}

/// An IPv6 country database (IPv4 networks reachable as usual) mapping each CIDR network to
/// a country code, as `.mmdb` bytes. Panics on a network that does not parse (test input).
pub fn write_country_db(shape: RecordShape, networks: &[(&str, &str)]) -> Vec<u8> {
    let database_type = match shape {
        RecordShape::GeoIp2 => "GeoLite2-Country",
        RecordShape::CountryCode => "geo-whois-asn-country",
    };
    let mut writer = Writer::new(database_type);
    for (net, code) in networks {
        let net: IpNet = net.parse().expect("test network in CIDR notation");
        writer
            .insert_value(net, record(shape, code))
            .expect("insert test network");
    }
    writer.to_bytes().expect("serialise test database")
}
