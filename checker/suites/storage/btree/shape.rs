//! The tree as the suite sees it: read from the node's disk, from its
//! root, and the checks of its shape.

use super::{Tree, NODE};
use crate::subject::storage::btree::{read_page, Page, PageId, MAX_KEYS, MIN_KEYS};
use dsim::{Disk, Sim};

/// A subtree as read from the disk.
#[derive(Debug)]
pub(super) enum Subtree {
    Leaf(Vec<(String, String)>),
    Internal(Vec<String>, Vec<Subtree>),
}

/// The deepest tree a page file of these runs may hold; deeper is a cycle.
const MAX_DEPTH: usize = 16;

/// The tree under `id`, read from `disk`, or why not.
fn load(disk: &Disk, id: PageId, depth: usize) -> Result<Subtree, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "the tree is more than {MAX_DEPTH} pages deep: a page is its own descendant"
        ));
    }
    match read_page(disk, id) {
        None => Err(format!(
            "page {id} is reached from the root but is not a page of the file (beyond its end, \
             or bytes that do not decode)"
        )),
        Some(Page::Leaf { entries }) => Ok(Subtree::Leaf(entries)),
        Some(Page::Internal { keys, children }) => {
            let children = children
                .iter()
                .map(|&child| load(disk, child, depth + 1))
                .collect::<Result<_, _>>()?;
            Ok(Subtree::Internal(keys, children))
        }
    }
}

/// The node's current tree, if it is up and its tree is not empty.
pub(super) fn current<N: Tree>(sim: &Sim<N>) -> Option<Result<Subtree, String>> {
    let root = sim.node(NODE)?.root()?;
    Some(load(sim.disk(NODE), root, 0))
}

/// Where FILL fails under `tree`, if it does.
pub(super) fn fill(tree: &Subtree, root: bool) -> Result<(), String> {
    let (len, what) = match tree {
        Subtree::Leaf(entries) => (entries.len(), "leaf"),
        Subtree::Internal(keys, children) => {
            if children.len() != keys.len() + 1 {
                return Err(format!(
                    "an internal page has {} keys and {} children",
                    keys.len(),
                    children.len()
                ));
            }
            if root && keys.is_empty() {
                return Err("the root is an internal page with no keys".into());
            }
            (keys.len(), "internal page")
        }
    };
    if len > MAX_KEYS {
        return Err(format!(
            "a {what} holds {len} keys (MAX_KEYS is {MAX_KEYS})"
        ));
    }
    if !root && len < MIN_KEYS {
        return Err(format!(
            "a {what} below the root holds {len} keys (MIN_KEYS is {MIN_KEYS})"
        ));
    }
    match tree {
        Subtree::Internal(_, children) => children.iter().try_for_each(|c| fill(c, false)),
        Subtree::Leaf(_) => Ok(()),
    }
}

/// Where ORDERED fails under `tree`, whose keys must lie in `lo..hi`.
pub(super) fn ordered(tree: &Subtree, lo: Option<&str>, hi: Option<&str>) -> Result<(), String> {
    let keys: Vec<&str> = match tree {
        Subtree::Leaf(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
        Subtree::Internal(keys, _) => keys.iter().map(String::as_str).collect(),
    };
    if let Some(pair) = keys.windows(2).find(|pair| pair[0] >= pair[1]) {
        return Err(format!("a page holds {:?} before {:?}", pair[0], pair[1]));
    }
    for &key in &keys {
        let below = lo.is_some_and(|lo| key < lo);
        let above = hi.is_some_and(|hi| key >= hi);
        if below || above {
            return Err(format!(
                "{key:?} lies under separators that bound its subtree to {}..{} (a search \
                 for it goes elsewhere)",
                lo.map_or("".into(), |k| format!("{k:?}")),
                hi.map_or("".into(), |k| format!("{k:?}"))
            ));
        }
    }
    if let Subtree::Internal(_, children) = tree {
        for (i, child) in children.iter().enumerate() {
            let lo = if i == 0 { lo } else { Some(keys[i - 1]) };
            ordered(child, lo, keys.get(i).copied().or(hi))?;
        }
    }
    Ok(())
}

/// The depth of every leaf under `tree`, in order.
pub(super) fn depths(tree: &Subtree, depth: usize, out: &mut Vec<usize>) {
    match tree {
        Subtree::Leaf(_) => out.push(depth),
        Subtree::Internal(_, children) => {
            for child in children {
                depths(child, depth + 1, out);
            }
        }
    }
}

/// The entries of every leaf under `tree`, in order.
pub(super) fn entries<'t>(tree: &'t Subtree, out: &mut Vec<(&'t str, &'t str)>) {
    match tree {
        Subtree::Leaf(entries) => out.extend(entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        Subtree::Internal(_, children) => {
            for child in children {
                entries(child, out);
            }
        }
    }
}
