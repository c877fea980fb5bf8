//! Who is on the other side of each payment, and which device it was made from.
//!
//! Each customer has an employer, a handful of people they send money to and get money from
//! (family, a flatmate, friends; the first few far more often than the rest) and one phone
//! with the payment app; about one in six replaces their phone during the window, so a new
//! device is not in itself a sign of fraud. Salaries name the employer; transfers in and out
//! name a contact; payments made in the app (online and person-to-person) name the device.
//! Card payments in shops and bills name neither (their other party is a merchant).
//!
//! Drawn from the customer's own stream, after everything else, so every other aspect of
//! every customer is the same as before payments named their parties.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sextant_domain::{
    AccountRef, Channel, Counterparty, DeviceId, PaymentEvent, PaymentKind, ShortText,
};

use crate::sample::chance;

const GIVEN: &[&str] = &[
    "Jan",
    "Petr",
    "Tomas",
    "Lukas",
    "Martin",
    "Jakub",
    "Ondrej",
    "Pavel",
    "Michal",
    "David",
    "Eva",
    "Jana",
    "Lucie",
    "Tereza",
    "Katerina",
    "Petra",
    "Veronika",
    "Marketa",
    "Anna",
    "Klara",
    "Lena",
    "Jonas",
    "Felix",
    "Marta",
    "Zofia",
    "Piotr",
    "Agnieszka",
    "Matej",
    "Simona",
    "Radek",
];

const FAMILY: &[&str] = &[
    "Novak",
    "Svoboda",
    "Novotny",
    "Dvorak",
    "Cerny",
    "Prochazka",
    "Kucera",
    "Vesely",
    "Horak",
    "Nemec",
    "Pokorny",
    "Marek",
    "Pospisil",
    "Hajek",
    "Jelinek",
    "Kral",
    "Ruzicka",
    "Benes",
    "Fiala",
    "Sedlacek",
    "Dolezal",
    "Zeman",
    "Kolar",
    "Navratil",
    "Cermak",
    "Huber",
    "Wagner",
    "Kowalski",
    "Nowak",
    "Horvath",
];

const TRADES: &[&str] = &[
    "Stavby",
    "Logistika",
    "Software",
    "Engineering",
    "Foods",
    "Retail",
    "Consulting",
    "Energy",
    "Health",
    "Print",
    "Automotive",
    "Hotels",
];

const COMPANY_FORMS: &[&str] = &["s.r.o.", "a.s.", "GmbH", "sp. z o.o."];

fn pick<'a, R: Rng>(rng: &mut R, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

/// A Czech-style IBAN (CZ, two check digits, bank code, account), written without spaces:
/// the digits run longer than any card number, so no card-number check mistakes it.
fn iban<R: Rng>(rng: &mut R) -> AccountRef {
    let bank = pick(rng, &["0100", "0300", "0800", "2010", "0600", "5500"]);
    let account: u64 = rng.gen_range(1_000_000_000..9_999_999_999);
    AccountRef::parse(&format!(
        "CZ{:02}{bank}000000{account:010}",
        rng.gen_range(10..99)
    ))
    .expect("letters and digits form an account")
}

fn party(name: &str, account: AccountRef) -> Counterparty {
    Counterparty {
        name: Some(ShortText::parse(name).expect("generated names are short and plain")),
        account: Some(account),
    }
}

/// A person the customer does not know yet.
pub(crate) fn person<R: Rng>(rng: &mut R) -> Counterparty {
    let name = format!("{} {}", pick(rng, GIVEN), pick(rng, FAMILY));
    party(&name, iban(rng))
}

/// One customer's parties.
pub(crate) struct Parties {
    pub rng: ChaCha8Rng,
    number: u64,
    employer: Counterparty,
    contacts: Vec<Counterparty>,
    /// The phone in use, and the one it is replaced by from `replaced_at_s` on.
    devices: Vec<DeviceId>,
    replaced_at_s: Option<i64>,
}

impl Parties {
    pub fn new(number: u64, start_s: i64, end_s: i64, mut rng: ChaCha8Rng) -> Parties {
        let employer = {
            let name = format!(
                "{} {} {}",
                pick(&mut rng, FAMILY),
                pick(&mut rng, TRADES),
                pick(&mut rng, COMPANY_FORMS)
            );
            party(&name, iban(&mut rng))
        };
        let contacts = (0..rng.gen_range(3..=8))
            .map(|_| person(&mut rng))
            .collect();
        let replaced_at_s = chance(&mut rng, 0.16).then(|| rng.gen_range(start_s..end_s));
        let mut parties = Parties {
            rng,
            number,
            employer,
            contacts,
            devices: Vec::new(),
            replaced_at_s,
        };
        let first = parties.new_device();
        parties.devices.push(first);
        if parties.replaced_at_s.is_some() {
            let second = parties.new_device();
            parties.devices.push(second);
        }
        parties
    }

    /// A device id the customer has not used. A letter stands between its two numbers, so
    /// their digits never run together into something a card-number check would refuse.
    pub fn new_device(&mut self) -> DeviceId {
        let tag: u32 = self.rng.gen();
        DeviceId::parse(&format!("dv-{tag:08x}-c{}", self.number))
            .expect("at most eight digits in a row, never a card number")
    }

    /// The phone in use at `at_s`.
    pub fn device_at(&self, at_s: i64) -> DeviceId {
        match self.replaced_at_s {
            Some(at) if at_s >= at => self.devices[1].clone(),
            _ => self.devices[0].clone(),
        }
    }

    /// A contact: the first few far more often than the rest.
    fn contact(&mut self) -> Counterparty {
        let n = self.contacts.len();
        let i = (self.rng.gen::<f64>().powi(3) * n as f64) as usize;
        self.contacts[i.min(n - 1)].clone()
    }

    /// Names the parties of the customer's own payments.
    pub fn assign(&mut self, payments: &mut [PaymentEvent], start_s: i64) {
        for p in payments {
            let at_s = p.occurred_at.timestamp();
            p.counterparty = match p.kind {
                PaymentKind::Salary => Some(self.employer.clone()),
                PaymentKind::TransferIn | PaymentKind::TransferOut => Some(self.contact()),
                _ => None,
            };
            if matches!(p.channel, Channel::Online | Channel::P2p) && at_s >= start_s {
                p.device_id = Some(self.device_at(at_s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{generate_customer, Config};

    #[test]
    fn transfers_name_a_few_contacts_and_app_payments_a_device_or_two() {
        let config = Config::new(200, 6, 5);
        let mut replaced = 0;
        for i in 0..config.customers {
            let bundle = generate_customer(&config, i);
            let own: Vec<_> = bundle
                .payments
                .iter()
                .filter(|p| p.event_id.as_str().starts_with('p'))
                .collect();
            let mut payees = std::collections::HashSet::new();
            let mut devices = std::collections::HashSet::new();
            for p in &own {
                assert!(p.check().is_ok(), "{p:?}");
                if matches!(
                    p.kind,
                    sextant_domain::PaymentKind::TransferIn
                        | sextant_domain::PaymentKind::TransferOut
                ) {
                    payees.insert(p.counterparty.as_ref().expect("named").key());
                }
                if let Some(d) = &p.device_id {
                    devices.insert(d.clone());
                }
            }
            assert!(payees.len() <= 8, "{} contacts", payees.len());
            assert!(devices.len() <= 2);
            replaced += usize::from(devices.len() == 2);
        }
        assert!(
            (10..=60).contains(&replaced),
            "{replaced} of 200 replaced their phone"
        );
    }
}
