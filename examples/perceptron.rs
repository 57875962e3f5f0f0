//! Slide 3, the perceptron as a decision maker: "Will I visit grandma?", and Rosenblatt's
//! learning rule on AND, OR and XOR.
//!
//! `cargo run --release --example perceptron`

use nn::perceptron::PerceptronRule;

nn::network! {
    /// Three yes/no inputs (friends invited me out, grandma promised pie, I am on a diet) and a
    /// bias: one step neuron decides.
    struct Grandma: 3 -> decide: 1 step;
    /// A perceptron with two inputs, for the logic gates.
    struct Gate: 2 -> 1 step;
}

/// The weight vectors of the slide: (bias, friends, pie, diet).
const VECTORS: [(&str, [f32; 4]); 4] = [
    ("A", [-5.0, -1.0, 10.0, 0.0]),
    ("B", [4.0, -1.0, 1.0, 0.0]),
    ("C", [0.0, -10.0, 5.0, 2.0]),
    ("D", [2.0, -1.0, 15.0, -20.0]),
];

/// The four people, each as the rule we read into their description: given (friends invited
/// me out, pie, diet), do they go?
type Rule = fn(bool, bool, bool) -> bool;
const PEOPLE: [(&str, &str, Rule); 4] = [
    (
        "the blogger who pictures an idealistic life",
        "always goes",
        |_, _, _| true,
    ),
    (
        "John, aged 6",
        "goes unless he is on a diet (a pie he may not eat is torture)",
        |_, _, diet| !diet,
    ),
    (
        "the mercantile pie lover",
        "goes if and only if there is pie",
        |_, pie, _| pie,
    ),
    (
        "the party person",
        "goes unless friends invite them out",
        |friends, _, _| !friends,
    ),
];

fn main() {
    println!("Will I visit grandma?  go = step(bias + w1·friends + w2·pie + w3·diet), step(z) = 1 if z > 0");
    println!();
    println!("friends pie diet |    A    B    C    D   (z, then the decision)");

    let nets: Vec<Grandma> = VECTORS.iter().map(|(_, w)| grandma(*w)).collect();
    let mut decisions = [[false; 8]; 4];
    for (row, (friends, pie, diet)) in combinations().enumerate() {
        let x = [friends, pie, diet].map(f32::from);
        let mut line = format!("{:>7} {:>3} {:>4} |", yes(friends), yes(pie), yes(diet));
        for (v, net) in nets.iter().enumerate() {
            let w = VECTORS[v].1;
            let z = w[0] + w[1] * x[0] + w[2] * x[1] + w[3] * x[2];
            let go = net.forward(&x)[0] == 1.0;
            decisions[v][row] = go;
            line += &format!(" {z:>3} {}", if go { "go" } else { "--" });
        }
        println!("{line}");
    }

    println!();
    println!("who behaves like whom (a person's rule checked on all 8 rows of the table):");
    for (v, (name, w)) in VECTORS.iter().enumerate() {
        let scores: Vec<(usize, Vec<usize>)> = PEOPLE
            .iter()
            .map(|(_, _, rule)| {
                let wrong: Vec<usize> = combinations()
                    .enumerate()
                    .filter(|(row, (f, p, d))| {
                        rule(*f == 1, *p == 1, *d == 1) != decisions[v][*row]
                    })
                    .map(|(row, _)| row)
                    .collect();
                (8 - wrong.len(), wrong)
            })
            .collect();
        let best = scores.iter().map(|s| s.0).max().unwrap_or(0);
        for (p, (agree, wrong)) in scores.iter().enumerate() {
            if *agree != best {
                continue;
            }
            let (person, rule, _) = PEOPLE[p];
            if wrong.is_empty() {
                println!(
                    "  {name} = {w:?} is {person}: {rule}, on every row. {}",
                    why(*w, &decisions[v])
                );
            } else {
                let rows: Vec<String> = wrong.iter().map(|r| describe_row(*r)).collect();
                println!(
                    "  {name} = {w:?} fits nobody exactly; closest is {person} ({rule}), {agree} of 8 rows, \
                     but not when {}. {}",
                    rows.join(", "),
                    why(*w, &decisions[v])
                );
            }
        }
    }

    println!();
    println!(
        "Rosenblatt's rule  w <- w + η·(y - ŷ)·x, b <- b + η·(y - ŷ), from zero weights, η = 1:"
    );
    let inputs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let rule = PerceptronRule::new(1.0, 100);
    for (gate, targets) in [
        ("AND", [[0.0], [0.0], [0.0], [1.0]]),
        ("OR", [[0.0], [1.0], [1.0], [1.0]]),
        ("XOR", [[0.0], [1.0], [1.0], [0.0]]),
    ] {
        let mut net = Gate::zeros();
        match rule.train(&mut net, &inputs, &targets) {
            Ok(done) => {
                let out = inputs.map(|x| net.forward(&x)[0]);
                println!(
                    "  {gate:<3} learned in {} epochs ({} updates): w = {:?}, b = {}; outputs {out:?}",
                    done.epochs,
                    done.updates,
                    net.layer1.weights_flat(),
                    net.layer1.bias()[0]
                );
            }
            Err(e) => println!("  {gate:<3} {e}"),
        }
    }
}

/// Why a vector decides as it does, read off the table: for each input, in how many of the
/// 4 pairs of rows that differ only in that input the decision flips; and any row where
/// `z = 0` exactly, which `step` (1 only if z > 0) sends to "no".
fn why(w: [f32; 4], decisions: &[bool; 8]) -> String {
    let names = ["friends", "pie", "diet"];
    let mut matters = Vec::new();
    let mut never = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let bit = 4 >> i; // friends is the high bit of the row number
        let flips = (0..8)
            .filter(|row| row & bit == 0 && decisions[*row] != decisions[row | bit])
            .count();
        let weight = w[i + 1];
        if flips == 0 {
            never.push(format!("{name} ({weight:+})"));
        } else {
            matters.push(format!("{name} ({weight:+}) in {flips} of 4 cases"));
        }
    }
    let mut text = String::from("Why: ");
    if matters.is_empty() {
        text += &format!("no input ever changes the decision, the bias {} wins", w[0]);
    } else {
        text += &format!("the decision flips with {}", matters.join(", "));
        if !never.is_empty() {
            text += &format!("; {} never", never.join(" and "));
        }
        text += &format!("; bias {}", w[0]);
    }
    for (row, (f, p, d)) in combinations().enumerate() {
        let z = w[0] + w[1] * f32::from(f) + w[2] * f32::from(p) + w[3] * f32::from(d);
        if z == 0.0 {
            text += &format!(
                ". When {}, z = 0 exactly: on the threshold, and step(0) = 0 says no",
                describe_row(row)
            );
        }
    }
    text + "."
}

fn grandma(w: [f32; 4]) -> Grandma {
    let mut net = Grandma::zeros();
    net.decide.set_bias(&[w[0]]);
    net.decide.set_weights(&[[w[1], w[2], w[3]]]);
    net
}

/// The 8 combinations of (friends, pie, diet) as 0/1, in binary order.
fn combinations() -> impl Iterator<Item = (u8, u8, u8)> {
    (0..8u8).map(|b| ((b >> 2) & 1, (b >> 1) & 1, b & 1))
}

fn describe_row(row: usize) -> String {
    let (f, p, d) = combinations().nth(row).unwrap_or((0, 0, 0));
    let part = |v: u8, yes: &str, no: &str| {
        if v == 1 {
            yes.to_string()
        } else {
            no.to_string()
        }
    };
    format!(
        "{}, {} and {}",
        part(f, "invited out", "not invited out"),
        part(p, "pie", "no pie"),
        part(d, "on a diet", "not on a diet")
    )
}

fn yes(v: u8) -> &'static str {
    if v == 1 {
        "yes"
    } else {
        "no"
    }
}
