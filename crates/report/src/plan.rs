//! `report.html` for `podip plan`: the plan's table, what each allocator's plan
//! rests on, and a chart of required vs current capacity. One self-contained
//! page (no scripts, no external assets) that is also well-formed XML, in the
//! same style as the `run`/`compare` report.

use std::fmt::Write as _;

use plan::{AllocatorPlan, Plan, RangePlan, Verdict, layout, thousands};

use crate::html::{cell, head, printed};
use crate::{escape, human_time};

/// The CSV files the plan page links to; they sit next to `report.html`.
pub const PLAN_CSV_FILES: [&str; 2] = ["plan.csv", "plan-breakdown.csv"];

/// Added to the shared style: the verdicts that need a larger range are red,
/// like `exhausts`. Each data row of the plan is followed by its why row, which
/// spans the table: the pair reads as one entry (no rule between them, a rule
/// above the next pair). Peaks and times wrap between figures, never inside one.
const PLAN_STYLE: &str = ".too-small, .does-not-fit { color: #c62828; font-weight: bold; }
table.plan th, table.plan td { padding-left: 0.45em; padding-right: 0.45em; }
table.plan tr.data td { border-bottom: none; }
table.plan tr.why td { border-top: none; white-space: normal; padding: 0 0.6em 0.4em 1.6em; }
table.plan .why-label { color: #555; font-style: italic; }
table.plan td.peak, table.plan td.peak-at { white-space: normal; }
table.plan tr.data td:nth-child(3), table.plan tr.data td:nth-child(11) { white-space: nowrap; }
table.plan .fig { white-space: nowrap; }
.doing { display: block; font-size: 0.85em; margin-top: 0.1em; }
";

/// The chart's geometry, in SVG user units.
mod geometry {
    pub const WIDTH: f64 = 960.0;
    /// Left edge of labels and bars.
    pub const LEFT: f64 = 10.0;
    /// The longer bar of every row is this wide.
    pub const BAR: f64 = 640.0;
    /// Legend band at the top, then one row per allocator × range.
    pub const TOP: f64 = 36.0;
    pub const ROW: f64 = 62.0;
    pub const BAR_HEIGHT: f64 = 14.0;
    pub const BOTTOM: f64 = 8.0;
}

const GREY: &str = "#9e9e9e";
const BLUE: &str = "#1f6fb4";
const RED: &str = "#c62828";

/// The whole page: `title`; the plan, one row per allocator × range; per
/// allocator, the risk as written, the verification, what does not fit and the
/// failures no size fixes; the chart of required vs current capacity (inline
/// SVG); and `table` (the text podip printed; left out when blank). Links only
/// to [`PLAN_CSV_FILES`] in the same folder.
pub fn plan_html(title: &str, plan: &Plan, table: &str) -> String {
    let mut page = String::new();
    head(&mut page, title, PLAN_STYLE);
    let links: Vec<String> = PLAN_CSV_FILES.iter().map(|f| format!("<a href=\"{f}\">{f}</a>")).collect();
    let events =
        if plan.events > 0 { format!(", {} simulation events", thousands(plan.events)) } else { String::new() };
    let _ = writeln!(
        page,
        "<p class=\"note\">Data: {}. {}{events}.</p>",
        links.join(", "),
        plural(plan.replays, "replay", "replays")
    );

    page.push_str("<h2>Plan</h2>\n");
    plan_table(&mut page, plan);

    if !plan.allocators.is_empty() {
        page.push_str("<h2>Per allocator</h2>\n");
        for allocator in &plan.allocators {
            allocator_section(&mut page, allocator);
        }
    }

    page.push_str("<h2>Required vs current capacity</h2>\n");
    if plan.allocators.iter().all(|a| a.ranges.is_empty()) {
        page.push_str("<p>No address ranges to chart.</p>\n");
    } else {
        page.push_str(
            "<p class=\"note\">Per allocator and range: what the range can hand out at its current prefix \
             (grey) and what the scenario requires (blue where the current prefix holds it, red where it \
             does not). Each row has its own scale: a node subnet and a pod CIDR differ by orders of \
             magnitude.</p>\n",
        );
        let _ = writeln!(page, "<figure id=\"required-vs-current\">\n{}</figure>", chart_svg(plan).trim_end());
    }

    printed(&mut page, table);
    page.push_str("</body>\n</html>\n");
    page
}

fn plan_table(page: &mut String, plan: &Plan) {
    let _ = write!(
        page,
        "<p class=\"note\">Peak: the exact most addresses each range held at once with unlimited room, \
         over the seeds (p50 / p90 / max). Required: the peak at the plan's percentile, with headroom. \
         Smallest prefix: the longest whose capacity holds it; proposed: where the plan puts the range \
         (its current prefix when that is large enough). Why (the line under each row): who held the \
         range at its peak, and what the scenario was doing then.</p>\n\
         <table class=\"plan\">\n<thead><tr>{}</tr></thead>\n<tbody>\n",
        PLAN_COLUMNS.map(|c| format!("<th>{c}</th>")).concat()
    );
    for allocator in &plan.allocators {
        for range in &allocator.ranges {
            let verdict = range.verdict.as_str();
            let peak_at = match range.peak_time_s {
                Some(t) if allocator.seeds.len() > 1 => {
                    figures(&[human_time(t) + " ", format!("(seed {})", range.peak_seed)])
                }
                Some(t) => figures(&[human_time(t)]),
                None => "—".to_string(),
            };
            let peaks = figures(&[
                format!("{} / ", thousands(range.peak_p50)),
                format!("{} / ", thousands(range.peak_p90)),
                thousands(range.peak_max),
            ]);
            let cells = [
                cell("", &allocator.allocator),
                cell("", &range.name),
                cell("", range.kind()),
                cell("", &range.current.to_string()),
                cell("num", &thousands(range.current_capacity)),
                cell("num", &allocator.seeds.len().to_string()),
                format!("<td class=\"num peak\">{peaks}</td>"),
                cell("num required", &thousands(range.required)),
                cell("num", &prefix_or_none(range.smallest_prefix)),
                cell("", &range.proposed.map_or("—".to_string(), |p| p.to_string())),
                cell(verdict, verdict),
                format!("<td class=\"num peak-at\">{peak_at}</td>"),
            ];
            let attributes =
                format!("data-allocator=\"{}\" data-range=\"{}\"", escape(&allocator.allocator), escape(&range.name));
            let _ = writeln!(page, "<tr class=\"data\" {attributes}>{}</tr>", cells.concat());
            let _ = writeln!(
                page,
                "<tr class=\"why\" {attributes}><td colspan=\"{}\">{}</td></tr>",
                PLAN_COLUMNS.len(),
                why(range)
            );
        }
    }
    page.push_str("</tbody>\n</table>\n");
}

/// The plan table's columns; each data row has one cell per column, and the
/// why row under it spans them all.
const PLAN_COLUMNS: [&str; 12] = [
    "allocator",
    "range",
    "kind",
    "current",
    "current capacity",
    "seeds",
    "peak (p50 / p90 / max)",
    "required",
    "smallest prefix",
    "proposed",
    "verdict",
    "peak at",
];

/// `parts` escaped, each in a span that does not wrap: the cell may break
/// between them (at a part's trailing space), never inside one.
fn figures(parts: &[String]) -> String {
    parts
        .iter()
        .map(|part| match part.strip_suffix(' ') {
            Some(figure) => format!("<span class=\"fig\">{}</span> ", escape(figure)),
            None => format!("<span class=\"fig\">{}</span>", escape(part)),
        })
        .collect()
}

fn prefix_or_none(prefix: Option<u8>) -> String {
    prefix.map_or("none".to_string(), |p| format!("/{p}"))
}

/// ` → /22 (1,019 usable)`, or ` → none` when no allowed prefix holds it.
fn arrow(range: &RangePlan) -> String {
    match range.smallest_prefix {
        Some(p) => match layout::capacity(range.unit, p) {
            Some(capacity) => format!(" → /{p} ({} usable)", thousands(capacity)),
            None => format!(" → /{p}"),
        },
        None => " → none (no allowed prefix holds it)".to_string(),
    }
}

/// The content of a why row: the breakdown of the peak, the prefix it leads
/// to, and what the scenario was doing then (in a smaller note).
fn why(range: &RangePlan) -> String {
    let mut notes: Vec<String> = Vec::new();
    let sum = match &range.explanation {
        Some(e) => {
            notes.extend(e.doing.iter().cloned());
            e.sum()
        }
        None if range.peak == 0 => "nothing allocated".to_string(),
        None => {
            notes.push("no breakdown: the plan does not fit, so it was not replayed".to_string());
            format!("peak {}", thousands(range.peak))
        }
    };
    if range.required != range.peak {
        notes.push(format!("with headroom: peak {} → required {}", thousands(range.peak), thousands(range.required)));
    }
    if range.grown_by_verification > 0 {
        notes.push(format!(
            "grown by {} bit{} in verification (fragmentation)",
            range.grown_by_verification,
            if range.grown_by_verification == 1 { "" } else { "s" }
        ));
    }
    let note = if notes.is_empty() {
        String::new()
    } else {
        format!("<span class=\"note doing\">{}</span>", escape(&notes.join("; ")))
    };
    // The arrow and the prefix it leads to stay on one line.
    let arrow = arrow(range);
    let arrow = arrow.trim_start();
    format!("<span class=\"why-label\">why:</span> {} <span class=\"fig\">{}</span>{note}", escape(&sum), escape(arrow))
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

fn allocator_section(page: &mut String, a: &AllocatorPlan) {
    let _ = writeln!(page, "<section class=\"allocator\" data-allocator=\"{}\">", escape(&a.allocator));
    let _ = writeln!(page, "<h3>{}</h3>", escape(&a.allocator));
    let total = a.seeds.len() as u64;
    let seeds = match (a.seeds.first(), a.seeds.last()) {
        (Some(first), Some(last)) if a.seeds.len() > 1 => format!("{} seeds, {first} to {last}", a.seeds.len()),
        (Some(first), _) => format!("seed {first}"),
        _ => "no seeds".to_string(),
    };
    page.push_str("<ul>\n");

    // Risk as written.
    let risk = &a.risk;
    let mut text = if risk.exhausted_seeds == 0 {
        format!("Risk as written: no seed ran out of addresses ({seeds}).")
    } else {
        let when = |t: Option<u64>| t.map_or("—".to_string(), human_time);
        format!(
            "Risk as written: {} of {} ran out of addresses ({seeds}); first exhaustion P10 {}, P50 {}, P90 {}.",
            thousands(u64::from(risk.exhausted_seeds)),
            plural(total, "seed", "seeds"),
            when(risk.first_exhaustion_p10_s),
            when(risk.first_exhaustion_p50_s),
            when(risk.first_exhaustion_p90_s)
        )
    };
    let exhausted: Vec<String> = a
        .ranges
        .iter()
        .filter(|r| r.exhausted_seeds > 0)
        .map(|r| {
            let median =
                r.first_exhaustion_p50_s.map_or(String::new(), |t| format!(", median first at {}", human_time(t)));
            format!("{}: {}{median}", r.name, plural(u64::from(r.exhausted_seeds), "seed", "seeds"))
        })
        .collect();
    if !exhausted.is_empty() {
        let _ = write!(text, " By range: {}.", exhausted.join("; "));
    }
    let _ = writeln!(page, "<li class=\"risk\">{}</li>", escape(&text));

    // Verification.
    let text = match &a.verification {
        Some(v) => {
            let mut text = format!(
                "Verification: the planned prefixes hold the peaks of {}; {} replayed with no size-dependent \
                 exhaustion, in {}.",
                plural(u64::from(v.seeds_held), "seed", "seeds"),
                thousands(u64::from(v.seeds_clean)),
                plural(u64::from(v.rounds), "round", "rounds")
            );
            if v.seeds_above > 0 {
                let _ = write!(
                    text,
                    " {} above the percentile, {} of which exhausted, as expected.",
                    plural(u64::from(v.seeds_above), "seed is", "seeds are"),
                    thousands(u64::from(v.seeds_above_exhausted))
                );
            }
            let grown: Vec<String> = a
                .ranges
                .iter()
                .filter(|r| r.grown_by_verification > 0)
                .map(|r| format!("{} by {}", r.name, plural(u64::from(r.grown_by_verification), "bit", "bits")))
                .collect();
            if !grown.is_empty() {
                let _ = write!(text, " Grown beyond the arithmetic because of fragmentation: {}.", grown.join(", "));
            }
            text
        }
        None => "Verification: not run, the plan does not fit.".to_string(),
    };
    let _ = writeln!(page, "<li class=\"verification\">{}</li>", escape(&text));

    // What does not fit.
    if let Some(p) = a.needs_address_space {
        let _ = writeln!(
            page,
            "<li class=\"does-not-fit\">{}</li>",
            escape(&format!(
                "Does not fit: the VNet's address space cannot hold the planned subnets; a single /{p} would."
            ))
        );
    }
    if let Some(p) = a.needs_pod_space {
        let _ = writeln!(
            page,
            "<li class=\"does-not-fit\">{}</li>",
            escape(&format!(
                "Does not fit: no layout holds the planned pod CIDRs outside the VNet and the service and \
                 reserved ranges; a single /{p} would hold them all."
            ))
        );
    }
    if a.planned.is_some() {
        let _ = writeln!(
            page,
            "<li class=\"planned\">The scenario with the proposed prefixes: <code>planned-{}.yaml</code>.</li>",
            escape(&a.allocator)
        );
    }
    page.push_str("</ul>\n");

    // Failures no size fixes.
    if a.unfixable.is_empty() {
        page.push_str("<p>No failures that no range size fixes.</p>\n");
    } else {
        page.push_str(
            "<p>Failures no range size fixes (they never enlarge a range):</p>\n\
             <table class=\"unfixable\">\n<thead><tr><th>kind</th><th>cluster</th><th>pool</th><th>seeds</th>\
             <th>first at</th><th>detail</th></tr></thead>\n<tbody>\n",
        );
        for u in &a.unfixable {
            let cells = [
                cell("", &u.kind),
                cell("", &u.cluster),
                cell("", &u.pool),
                cell("num", &format!("{} of {}", u.seeds, total)),
                cell("num", &human_time(u.first_s)),
                cell("", &u.detail),
            ];
            let _ = writeln!(page, "<tr>{}</tr>", cells.concat());
        }
        page.push_str("</tbody>\n</table>\n");
    }
    page.push_str("</section>\n");
}

/// `v` as a coordinate: two decimals, no trailing zeros.
fn coord(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The width of a bar for `value` in a row whose longer bar is `max`.
fn bar_width(value: u64, max: u64) -> f64 {
    if max == 0 { 0.0 } else { geometry::BAR * value as f64 / max as f64 }
}

/// The chart: one row per allocator × range, the current capacity's bar and
/// the required one, both scaled to the row's larger value. Every bar carries
/// `data-value`, every row `data-allocator` and `data-range`.
fn chart_svg(plan: &Plan) -> String {
    use geometry::*;
    let rows: Vec<(&AllocatorPlan, &RangePlan)> =
        plan.allocators.iter().flat_map(|a| a.ranges.iter().map(move |r| (a, r))).collect();
    let height = TOP + ROW * rows.len() as f64 + BOTTOM;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg class=\"plan-chart\" role=\"img\" aria-labelledby=\"plan-chart-title\" width=\"{w}\" \
         height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">",
        w = coord(WIDTH),
        h = coord(height)
    );
    let _ =
        writeln!(svg, "<title id=\"plan-chart-title\">Required vs current capacity, per allocator and range</title>");
    // Legend.
    let legend = [(GREY, "current capacity"), (BLUE, "required (fits)"), (RED, "required (too small as written)")];
    let mut x = LEFT;
    svg.push_str("<g class=\"legend\">\n");
    for (colour, label) in legend {
        let _ = writeln!(
            svg,
            "<rect x=\"{}\" y=\"10\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"20\">{label}</text>",
            coord(x),
            coord(x + 17.0)
        );
        x += 17.0 + 7.5 * label.len() as f64 + 20.0;
    }
    svg.push_str("</g>\n");

    for (i, (a, r)) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let max = r.current_capacity.max(r.required);
        // Blue where the current prefix holds the requirement, red where not.
        let colour = if r.verdict == Verdict::Fits { BLUE } else { RED };
        let _ = writeln!(
            svg,
            "<g class=\"row\" data-allocator=\"{}\" data-range=\"{}\">",
            escape(&a.allocator),
            escape(&r.name)
        );
        let _ = writeln!(
            svg,
            "<text class=\"label\" x=\"{}\" y=\"{}\" font-weight=\"bold\">{} · {}</text>",
            coord(LEFT),
            coord(y + 13.0),
            escape(&a.allocator),
            escape(&r.name)
        );
        let bars = [
            (
                "current".to_string(),
                GREY,
                r.current_capacity,
                format!("current /{}: {}", r.current.prefix_len(), thousands(r.current_capacity)),
            ),
            (
                format!("required {}", r.verdict.as_str()),
                colour,
                r.required,
                format!("required {} ({})", thousands(r.required), r.verdict.as_str()),
            ),
        ];
        for (k, (class, colour, value, label)) in bars.into_iter().enumerate() {
            let top = y + 19.0 + (BAR_HEIGHT + 4.0) * k as f64;
            let width = bar_width(value, max);
            let _ = writeln!(
                svg,
                "<rect class=\"{class}\" data-value=\"{value}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" \
                 fill=\"{colour}\"/>",
                coord(LEFT),
                coord(top),
                coord(width),
                coord(BAR_HEIGHT)
            );
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                coord(LEFT + width + 6.0),
                coord(top + BAR_HEIGHT - 3.0),
                escape(&label)
            );
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_short_and_exact_enough() {
        assert_eq!(coord(640.0), "640");
        assert_eq!(coord(12.5), "12.5");
        assert_eq!(coord(1.0 / 3.0), "0.33");
        assert_eq!(coord(0.0), "0");
    }

    #[test]
    fn bars_scale_to_the_larger_value_of_their_row() {
        assert_eq!(bar_width(0, 0), 0.0);
        assert_eq!(bar_width(1_581, 1_581), geometry::BAR);
        assert_eq!(bar_width(251, 502), geometry::BAR / 2.0);
    }
}
