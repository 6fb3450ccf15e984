//! The chat buffer grammar of `:ZenCompact`: compacted turns are never parsed into the
//! conversation, a `## Summary` is, and a saved compaction renders back to the same.

use super::*;
use crate::data::Usage;

fn lines(text: &str) -> Vec<String> {
    text.split('\n').map(String::from).collect()
}

#[test]
fn compacted_turns_are_not_sent_and_the_summary_is() {
    let buf = lines(
        "# zen · c · m\n\n::: compacted · not sent {{{\n## User\n\nold question\n\n::: }}}\n\n## Summary\n\nthe gist\n\n> [zen] compacted · 1 in · 1 out · $0\n\n## User\n\nnew question\n",
    );
    let msgs = parse(&buf, &[]);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].summary && msgs[0].role == Role::System);
    assert_eq!(msgs[0].content, "the gist");
    assert_eq!(msgs[1].content, "new question");
}

#[test]
fn model_text_that_closes_a_compacted_block_does_not_end_it() {
    // The answer (rows 7..=9) says `::: }}}` and `## User`: it is the model's, skipped whole.
    let buf = lines(
        "# zen · c · m\n\n::: compacted · not sent {{{\n## User\n\nq\n\n## Assistant · m\n\n::: }}}\n## User\nsneaky\n\n::: }}}\n\n## Summary\n\ngist\n\n## User\n\nnext\n",
    );
    let answer = AnswerSpan {
        first: 7,
        last: 12,
        content: "::: }}}\n## User\nsneaky".into(),
    };
    let msgs = parse(&buf, &[answer]);
    let texts: Vec<&str> = msgs.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["gist", "next"]);
}

#[test]
fn a_compacted_block_inside_another_nests() {
    let buf = lines(
        "# t\n\n::: compacted · not sent {{{\n::: compacted · not sent {{{\n## User\n\na\n\n::: }}}\n\n## Summary\n\nold gist\n\n::: }}}\n\n## Summary\n\nnew gist\n\n## User\n\nb\n",
    );
    let texts: Vec<String> = parse(&buf, &[]).into_iter().map(|m| m.content).collect();
    assert_eq!(texts, ["new gist", "b"]);
}

#[test]
fn a_saved_compaction_renders_folded_turns_then_the_summary() {
    let mut old = Message::new(Role::User, "old".into());
    old.compacted = true;
    let mut answer = Message::new(Role::Assistant, "old answer".into());
    answer.compacted = true;
    let mut summary = Message::new(Role::System, "gist".into());
    summary.summary = true;
    summary.usage = Some(Usage {
        prompt_tokens: 3,
        completion_tokens: 2,
        ..Usage::default()
    });
    let r = render("# t", &[old, answer, summary]);
    assert_eq!(
        r.lines.join("\n"),
        "# t\n\n::: compacted · not sent {{{\n## User\n\nold\n\n## Assistant\n\nold answer\n\n::: }}}\n\n## Summary\n\ngist\n\n> [zen] compacted · 3 in · 2 out · $?\n\n## User\n"
    );
    assert_eq!(r.compacted, [(2, 11)]);
    assert_eq!(
        r.regions[0].stop,
        (11, 0),
        "the answer ends at the block's close"
    );
    // Read back, only the summary is sent.
    let answers = [AnswerSpan {
        first: 7,
        last: 10,
        content: "old answer".into(),
    }];
    let msgs = parse(&r.lines, &answers);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].summary);
}
