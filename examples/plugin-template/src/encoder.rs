//! The counts as the file's text: `metric<TAB>count` lines, then the run's outcome. Pure, so it
//! is tested without a file or a host.

use std::collections::BTreeMap;

pub fn encode(counts: &BTreeMap<String, u64>, outcome: &str) -> String {
    let mut text = String::new();
    for (metric, n) in counts {
        text.push_str(&format!("{metric}\t{n}\n"));
    }
    text.push_str(&format!("# outcome\t{outcome}\n"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_metric_in_name_order_then_the_outcome() {
        let counts = BTreeMap::from([("vus".to_string(), 1), ("http_reqs".to_string(), 2)]);
        assert_eq!(
            encode(&counts, "completed"),
            "http_reqs\t2\nvus\t1\n# outcome\tcompleted\n"
        );
    }
}
