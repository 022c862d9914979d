//! The `podip plan` page: well formed, one row per allocator × range in the
//! table (each followed by its why row) and in the chart, bars in proportion,
//! names escaped, self-contained.

use plan::{Plan, PlanOptions, Verdict};
use report::{PLAN_CSV_FILES, human_time, plan_html};
use roxmltree::{Document, Node};
use scenario::{Mode, Overrides};

/// A subnet name that must be escaped everywhere it is written.
const TRICKY: &str = r#"n<1> & "x's""#;

/// node-subnet: the node subnet (a /26, 59 usable) must hold 10 × 31 = 310 →
/// too small; kubenet: 10 node IPs fit, and the default /16 pod CIDR holds
/// 10 /24s. 400 replicas on 10 × 30 pods: pods no size can schedule.
fn yaml(address_space: &str) -> String {
    format!(
        r#"
name: plan page
duration: 2h
network: {{address_space: [{address_space}], subnets: {{'n<1> & "x''s"': 10.0.0.0/26}}}}
clusters:
  - name: c
    service_cidr: 192.168.0.0/16
    node_pools: [{{name: p, count: 10, vnet_subnet: 'n<1> & "x''s"', max_pods: 30}}]
workloads:
  - {{name: web, cluster: c, kind: deployment, replicas: 400}}
"#
    )
}

fn build(yaml: &str, allocators: &[&'static Mode], seeds: u32) -> Plan {
    let scenarios: Vec<_> = allocators
        .iter()
        .map(|&kind| {
            let overrides = Overrides { allocator: Some(kind), ..Overrides::default() };
            match scenario::parse_str(yaml, "t.yaml", &overrides) {
                Ok(loaded) => loaded.scenario,
                Err(e) => panic!("{e}"),
            }
        })
        .collect();
    let options = PlanOptions { seeds, ..PlanOptions::default() };
    plan::plan_many(&scenarios, &options).unwrap_or_else(|e| panic!("{e}"))
}

/// Two allocators over a /16 VNet: one too small, one that fits.
fn two_allocators() -> Plan {
    build(&yaml("10.0.0.0/16"), &[modes::named("node-subnet"), modes::named("kubenet")], 2)
}

fn parse(page: &str) -> Document<'_> {
    let body = page.strip_prefix("<!DOCTYPE html>").expect("starts with the HTML5 doctype");
    Document::parse(body).unwrap_or_else(|e| panic!("report.html is not well-formed XML: {e}"))
}

fn text(node: Node) -> String {
    node.descendants().filter(|n| n.is_text()).map(|n| n.text().unwrap()).collect()
}

fn class_has(node: Node, class: &str) -> bool {
    node.attribute("class").is_some_and(|c| c.split_whitespace().any(|c| c == class))
}

fn elements<'a, 'i>(doc: &'a Document<'i>, tag: &str, class: &str) -> Vec<Node<'a, 'i>> {
    doc.descendants().filter(|n| n.has_tag_name(tag) && class_has(*n, class)).collect()
}

/// The plan table's data rows, one per allocator × range.
fn plan_rows<'a, 'i>(doc: &'a Document<'i>) -> Vec<Node<'a, 'i>> {
    plan_table_rows(doc).into_iter().filter(|n| !class_has(*n, "why")).collect()
}

/// Every row of the plan table's body: data rows and why rows.
fn plan_table_rows<'a, 'i>(doc: &'a Document<'i>) -> Vec<Node<'a, 'i>> {
    let table = elements(doc, "table", "plan");
    assert_eq!(table.len(), 1, "one plan table");
    table[0].descendants().filter(|n| n.has_tag_name("tr") && n.attribute("data-range").is_some()).collect()
}

/// The why row right under a data row: same allocator and range, one cell
/// spanning all of the data row's cells.
fn why_row<'a, 'i>(row: Node<'a, 'i>) -> Node<'a, 'i> {
    let next = row.next_siblings().skip(1).find(|n| n.is_element()).expect("a row under every data row");
    assert!(next.has_tag_name("tr") && class_has(next, "why"), "a why row under the data row");
    assert_eq!(next.attribute("data-allocator"), row.attribute("data-allocator"));
    assert_eq!(next.attribute("data-range"), row.attribute("data-range"));
    let why = cells(next);
    assert_eq!(why.len(), 1, "one cell in the why row");
    assert_eq!(why[0].attribute("colspan"), Some(cells(row).len().to_string().as_str()), "it spans the row");
    next
}

/// The text of the why row under a data row, without its `why: ` label.
fn why_text(row: Node) -> String {
    let why = text(why_row(row));
    why.strip_prefix("why: ").unwrap_or_else(|| panic!("labelled: {why:?}")).to_string()
}

fn cells<'a, 'i>(row: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    row.children().filter(|n| n.has_tag_name("td")).collect()
}

/// The numbers of a cell as written (`1,581` → 1581).
fn number(s: &str) -> u64 {
    s.replace(',', "").trim().parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

#[test]
fn the_page_is_well_formed_and_has_a_row_per_allocator_and_range() {
    let plan = two_allocators();
    let page = plan_html("plan <page> & co", &plan, "printed table\n");
    let doc = parse(&page);
    let title = doc.descendants().find(|n| n.has_tag_name("h1")).unwrap();
    assert_eq!(text(title), "plan <page> & co");

    let expected: Vec<_> = plan.allocators.iter().flat_map(|a| a.ranges.iter().map(move |r| (a, r))).collect();
    assert_eq!(expected.len(), 3, "node-subnet: the subnet; kubenet: the subnet and the pod CIDR");
    let rows = plan_rows(&doc);
    assert_eq!(rows.len(), expected.len());
    // Data row, its why row, the next data row, its why row, and so on.
    let all = plan_table_rows(&doc);
    assert_eq!(all.len(), 2 * expected.len());
    for (pair, row) in all.chunks(2).zip(&rows) {
        assert_eq!(pair[0], *row);
        assert_eq!(pair[1], why_row(*row));
    }
    let table = elements(&doc, "table", "plan")[0];
    let headers: Vec<String> = table.descendants().filter(|n| n.has_tag_name("th")).map(text).collect();
    assert_eq!(headers.len(), 12, "{headers:?}");
    assert!(!headers.iter().any(|h| h == "why"), "why is a row, not a column: {headers:?}");
    for (row, (a, r)) in rows.iter().zip(&expected) {
        assert_eq!(row.attribute("data-allocator"), Some(a.allocator.as_str()));
        assert_eq!(row.attribute("data-range"), Some(r.name.as_str()));
        let cells = cells(*row);
        assert_eq!(cells.len(), 12);
        assert_eq!(text(cells[0]), a.allocator);
        assert_eq!(text(cells[1]), r.name);
        assert_eq!(text(cells[2]), r.kind());
        assert_eq!(text(cells[3]), r.current.to_string());
        assert_eq!(number(&text(cells[4])), r.current_capacity);
        assert_eq!(number(&text(cells[5])), a.seeds.len() as u64);
        let peaks = [r.peak_p50, r.peak_p90, r.peak_max].map(plan::thousands).join(" / ");
        assert_eq!(text(cells[6]), peaks);
        let required = cells.iter().find(|c| class_has(**c, "required")).unwrap();
        assert_eq!(number(&text(*required)), r.required);
        let smallest = text(cells[8]);
        assert_eq!(smallest, r.smallest_prefix.map_or("none".into(), |p| format!("/{p}")));
        let verdict = cells.iter().find(|c| text(**c) == r.verdict.as_str()).expect("a verdict cell");
        assert_eq!(verdict.attribute("class"), Some(r.verdict.as_str()));
        if let Some(t) = r.peak_time_s {
            assert!(text(cells[11]).starts_with(&human_time(t)), "{}", text(cells[11]));
        }
        let why = why_text(*row);
        if let Some(e) = &r.explanation {
            assert!(why.starts_with(&e.sum()), "{why}");
            let p = r.smallest_prefix.unwrap();
            let capacity = plan::layout::capacity(r.unit, p).unwrap();
            assert!(why.contains(&format!(" → /{p} ({} usable)", plan::thousands(capacity))), "{why}");
            for doing in &e.doing {
                assert!(why.contains(doing.as_str()), "{why} lacks {doing}");
            }
        }
    }

    // The expected verdicts of this scenario, and their colours' classes.
    let node_subnet = &plan.allocators[0].ranges[0];
    assert_eq!((node_subnet.name.as_str(), node_subnet.required), (TRICKY, 310));
    assert_eq!(node_subnet.verdict, Verdict::TooSmall);
    assert!(plan.allocators[1].ranges.iter().all(|r| r.verdict == Verdict::Fits));
    assert!(page.contains(".too-small, .does-not-fit { color: #c62828"));
    let why = why_text(rows[0]);
    assert!(why.contains("10 nodes × 31 (1 + max_pods 30, c/p) + 5 reserved = 315 → /23 (507 usable)"), "{why}");

    // The printed table, once, in a <details>.
    let details: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("details")).collect();
    assert_eq!(details.len(), 1);
    assert_eq!(text(details[0].descendants().find(|n| n.has_tag_name("pre")).unwrap()), "printed table");
    assert!(!plan_html("t", &plan, "  \n").contains("<details>"));
}

#[test]
fn each_allocator_has_its_risk_verification_and_unfixable_failures() {
    let plan = two_allocators();
    let page = plan_html("t", &plan, "");
    let doc = parse(&page);
    let sections = elements(&doc, "section", "allocator");
    assert_eq!(sections.len(), 2);
    for (section, a) in sections.iter().zip(&plan.allocators) {
        assert_eq!(section.attribute("data-allocator"), Some(a.allocator.as_str()));
        let item = |class: &str| {
            let found = section.descendants().find(|n| n.has_tag_name("li") && class_has(*n, class));
            text(found.unwrap_or_else(|| panic!("no {class} item")))
        };
        let risk = item("risk");
        if a.risk.exhausted_seeds > 0 {
            assert!(risk.contains(&format!("{} of 2 seeds", a.risk.exhausted_seeds)), "{risk}");
            let p50 = human_time(a.risk.first_exhaustion_p50_s.unwrap());
            assert!(risk.contains(&format!("P50 {p50}")), "{risk}");
        } else {
            assert!(risk.contains("no seed ran out"), "{risk}");
        }
        let v = a.verification.expect("both plans fit and are verified");
        let verification = item("verification");
        assert!(verification.contains(&format!("peaks of {} seeds; {} replayed", v.seeds_held, v.seeds_clean)));
        // No size schedules 400 replicas on 10 × 30 pods.
        let unfixable = section.descendants().find(|n| n.has_tag_name("table") && class_has(*n, "unfixable"));
        let rows: Vec<_> = unfixable.unwrap().descendants().filter(|n| n.has_tag_name("tr")).skip(1).collect();
        assert_eq!(rows.len(), a.unfixable.len());
        assert!(a.unfixable.iter().any(|u| u.kind == "pod-unschedulable"), "{:?}", a.unfixable);
        for (row, u) in rows.iter().zip(&a.unfixable) {
            let cells: Vec<String> = cells(*row).into_iter().map(text).collect();
            assert_eq!(cells[0], u.kind);
            assert_eq!(cells[3], format!("{} of 2", u.seeds));
            assert_eq!(cells[4], human_time(u.first_s));
            assert_eq!(cells[5], u.detail);
        }
    }
    // node-subnet ran out as written, at time zero, in both seeds.
    assert_eq!(plan.allocators[0].risk.exhausted_seeds, 2);
}

#[test]
fn a_plan_that_does_not_fit_names_the_space_it_needs() {
    // A /24 VNet cannot hold the /23 the node subnet needs.
    let plan = build(&yaml("10.0.0.0/24"), &[modes::named("node-subnet")], 1);
    let a = &plan.allocators[0];
    assert_eq!(a.ranges[0].verdict, Verdict::DoesNotFit);
    let p = a.needs_address_space.expect("it does not fit");
    let page = plan_html("t", &plan, "");
    let doc = parse(&page);
    let row = plan_rows(&doc)[0];
    let cells = cells(row);
    assert_eq!(cells[10].attribute("class"), Some("does-not-fit"));
    assert_eq!(text(cells[9]), "—", "nothing proposed");
    let why = why_text(row);
    assert!(why.contains("→ /23 (507 usable)"), "{why}");
    let item = doc.descendants().find(|n| n.has_tag_name("li") && class_has(*n, "does-not-fit")).unwrap();
    assert!(text(item).contains(&format!("a single /{p} would")), "{}", text(item));
    assert!(text(doc.root_element()).contains("Verification: not run"));
    let bar = elements(&doc, "rect", "required")[0];
    assert!(class_has(bar, "does-not-fit"));
    assert_eq!(bar.attribute("fill"), Some("#c62828"));
}

#[test]
fn the_chart_has_a_row_per_allocator_and_range_with_bars_in_proportion() {
    let plan = two_allocators();
    let page = plan_html("t", &plan, "");
    let doc = parse(&page);
    let svgs: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("svg")).collect();
    assert_eq!(svgs.len(), 1);
    let svg = svgs[0];
    assert_eq!(svg.attribute("role"), Some("img"));
    let title = svg.children().find(|n| n.is_element()).unwrap();
    assert!(title.has_tag_name("title"), "the SVG's first child is its title");
    assert!(text(title).contains("Required vs current capacity"));

    let expected: Vec<_> = plan.allocators.iter().flat_map(|a| a.ranges.iter().map(move |r| (a, r))).collect();
    let rows = elements(&doc, "g", "row");
    assert_eq!(rows.len(), expected.len());
    let width = |n: Node| -> f64 { n.attribute("width").unwrap().parse().unwrap() };
    let mut longest = None;
    for (row, (a, r)) in rows.iter().zip(&expected) {
        assert_eq!(row.attribute("data-allocator"), Some(a.allocator.as_str()));
        assert_eq!(row.attribute("data-range"), Some(r.name.as_str()));
        let label = row.descendants().find(|n| n.has_tag_name("text") && class_has(*n, "label")).unwrap();
        assert_eq!(text(label), format!("{} · {}", a.allocator, r.name));
        let bar = |class: &str| row.descendants().find(|n| n.has_tag_name("rect") && class_has(*n, class)).unwrap();
        let (current, required) = (bar("current"), bar("required"));
        assert_eq!(current.attribute("data-value").unwrap().parse::<u64>().unwrap(), r.current_capacity);
        assert_eq!(required.attribute("data-value").unwrap().parse::<u64>().unwrap(), r.required);
        let (wc, wr) = (width(current), width(required));
        // The longer bar is the full width, the other in proportion
        // (coordinates are written to 0.01).
        let full = wc.max(wr);
        assert_eq!(*longest.get_or_insert(full), full, "every row has the same full width");
        let max = r.current_capacity.max(r.required) as f64;
        assert!((wc - full * r.current_capacity as f64 / max).abs() <= 0.01, "{wc} {wr}");
        assert!((wr - full * r.required as f64 / max).abs() <= 0.01, "{wc} {wr}");
        // Blue where it fits, red where it does not; grey for what is there.
        assert_eq!(current.attribute("fill"), Some("#9e9e9e"));
        let (class, fill) = if r.verdict == Verdict::Fits { ("fits", "#1f6fb4") } else { ("too-small", "#c62828") };
        assert!(class_has(required, class));
        assert_eq!(required.attribute("fill"), Some(fill));
        // The numbers are written next to the bars.
        let numbers = text(*row);
        assert!(numbers.contains(&plan::thousands(r.required)), "{numbers}");
        assert!(numbers.contains(&plan::thousands(r.current_capacity)), "{numbers}");
    }
    // The node-subnet row: 310 required of 59, so the required bar is full width.
    let first = rows[0];
    let bar = |class: &str| first.descendants().find(|n| n.has_tag_name("rect") && class_has(*n, class)).unwrap();
    assert!((width(bar("current")) / width(bar("required")) - 59.0 / 310.0).abs() < 1e-4);
}

#[test]
fn names_are_escaped_and_nothing_is_external() {
    let plan = two_allocators();
    assert_eq!(plan.allocators[0].ranges[0].name, TRICKY, "the scenario keeps the name as written");
    let page = plan_html(TRICKY, &plan, TRICKY);
    // Raw, the name would break the markup: it is only ever written escaped.
    assert!(!page.contains(TRICKY));
    assert!(page.contains("n&lt;1&gt; &amp; &quot;x&#39;s&quot;"));
    let doc = parse(&page);
    // Read back, every place shows the name as written.
    let label = elements(&doc, "text", "label")[0];
    assert_eq!(text(label), format!("node-subnet · {TRICKY}"));
    assert_eq!(plan_rows(&doc)[0].attribute("data-range"), Some(TRICKY));

    assert!(!page.contains("http"), "no external references");
    assert!(!page.to_lowercase().contains("<script"));
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        assert!(!["script", "link", "img", "iframe", "object", "embed", "image", "use"].contains(&name), "<{name}>");
        for attr in node.attributes() {
            assert!(!attr.name().starts_with("on"), "event handler {}", attr.name());
        }
        if let Some(href) = node.attribute("href") {
            assert!(PLAN_CSV_FILES.contains(&href), "links only to the CSV files: {href}");
        }
    }
    let links: Vec<_> = doc.descendants().filter_map(|n| n.attribute("href")).collect();
    assert_eq!(links, PLAN_CSV_FILES);
}

#[test]
fn an_empty_plan_is_still_a_page() {
    let plan = Plan { allocators: Vec::new(), replays: 0, events: 0 };
    let page = plan_html("empty", &plan, "");
    let doc = parse(&page);
    assert!(plan_table_rows(&doc).is_empty());
    assert!(doc.descendants().all(|n| !n.has_tag_name("svg")));
    assert!(page.contains("No address ranges to chart."));
}
