//! # storage_btree: a copy-on-write B+ tree in a page file
//!
//! One node serves a sorted key-value store (Put, Delete, Get, Scan) kept
//! in a B+ tree of fixed-size pages in one file of a [`dsim::Disk`]. A
//! page holds at most [`MAX_KEYS`] keys, so a few dozen keys make a tree
//! three levels deep. The rules:
//!
//! 1. **Search.** An internal page holds separator keys and one child more
//!    than it has keys: every key under `children[i]` is at least
//!    `keys[i - 1]` and below `keys[i]`. A search descends from the root to
//!    the one leaf that may hold its key; only leaves hold values.
//! 2. **Split.** A page that grows past [`MAX_KEYS`] splits in two halves
//!    and hands its parent a separator: a leaf COPIES its right half's first
//!    key up (the key stays in the leaf, with its value); an internal page
//!    MOVES its middle key up (it separates the halves, and stays in
//!    neither). A split root makes a new root: the tree grows at the top,
//!    so every leaf stays at the same depth.
//! 3. **Rebalance.** A page other than the root that falls under
//!    [`MIN_KEYS`] joins its sibling (with the separator between them, for
//!    internal pages): if the joined page fits, it is a merge, and the
//!    parent loses a key; if not, it splits again, which shares the keys
//!    out between the two (a redistribution). A root left with one child
//!    hands the root to it: the tree shrinks at the top.
//! 4. **Copy-on-write.** A page is never written over: a change writes the
//!    new version of every page on the path from the leaf to the root at
//!    the end of [`PAGES`], and the new root is the new tree. The old tree
//!    stays whole on the disk until [`META`] says otherwise.
//! 5. **Commit.** Writes arriving within [`GROUP_WINDOW`] share a commit:
//!    the page file is synced, then the new root's id is written to
//!    [`META`] and synced, and only then is every waiting write
//!    acknowledged. Recovery reads the root from [`META`]: the last tree
//!    committed, whole, whatever a power cut did to the pages after it.
//!
// exercise: begin
// stub: //! Read `exercises/16_storage/README.md` first. Then fill in the functions
// stub: //! below: each `todo!()` is one step of the tree.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Disk, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The size of a page, and the unit of every write to [`PAGES`]: one
/// sector, which a power cut writes whole or not at all.
pub const PAGE_SIZE: usize = 512;
/// The most keys a page holds; one more, and it splits.
pub const MAX_KEYS: usize = 4;
/// The fewest keys a page other than the root holds; one fewer, and it
/// joins a sibling.
pub const MIN_KEYS: usize = MAX_KEYS / 2;
/// The longest key, and the longest value, a page has room for (in bytes).
pub const MAX_KEY: usize = 16;
pub const MAX_VALUE: usize = 64;
/// The file of pages: page `id` is at byte `id × PAGE_SIZE`.
pub const PAGES: &str = "btree.pages";
/// The file holding the committed root's id (4 bytes, little-endian, at
/// offset 0; `u32::MAX` or an empty file for an empty tree).
pub const META: &str = "btree.meta";
/// How long the first write of a commit waits for others to share it.
pub const GROUP_WINDOW: Duration = Duration::from_millis(1);

/// A page's number in [`PAGES`].
pub type PageId = u32;

/// What a client asks. A Scan asks for every key in `from..to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Put { key: String, value: String },
    Delete { key: String },
    Get { key: String },
    Scan { from: String, to: String },
}

/// What the client gets back: `Done` for a committed write, the value for
/// a Get, the keys and values in order for a Scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Done,
    Value(Option<String>),
    Entries(Vec<(String, String)>),
}

/// The one timer: the commit window closes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    Commit,
}

/// A page of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// Keys in ascending order, each with its value.
    Leaf { entries: Vec<(String, String)> },
    /// Separators in ascending order, and one child more than keys.
    Internal {
        keys: Vec<String>,
        children: Vec<PageId>,
    },
}

impl Page {
    /// How many keys the page holds.
    pub fn len(&self) -> usize {
        match self {
            Page::Leaf { entries } => entries.len(),
            Page::Internal { keys, .. } => keys.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The page's bytes, [`PAGE_SIZE`] of them: a tag (1 leaf, 2 internal),
    /// the number of keys (u16, LE), then strings as a u16 length and their
    /// bytes, and child ids as u32 (LE); zeros after.
    pub fn encode(&self) -> Vec<u8> {
        fn put_str(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        let mut out = Vec::with_capacity(PAGE_SIZE);
        match self {
            Page::Leaf { entries } => {
                out.push(1);
                out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
                for (key, value) in entries {
                    put_str(&mut out, key);
                    put_str(&mut out, value);
                }
            }
            Page::Internal { keys, children } => {
                out.push(2);
                out.extend_from_slice(&(keys.len() as u16).to_le_bytes());
                for key in keys {
                    put_str(&mut out, key);
                }
                for child in children {
                    out.extend_from_slice(&child.to_le_bytes());
                }
            }
        }
        assert!(out.len() <= PAGE_SIZE, "a page of {} bytes", out.len());
        out.resize(PAGE_SIZE, 0);
        out
    }

    /// The page in `bytes`, or `None` if they are not one (zeros, say).
    pub fn decode(bytes: &[u8]) -> Option<Page> {
        let at = &mut 0;
        let tag = take(bytes, at, 1)?[0];
        let n = u16::from_le_bytes(take(bytes, at, 2)?.try_into().ok()?) as usize;
        let mut strings = || -> Option<String> {
            let len = u16::from_le_bytes(take(bytes, at, 2)?.try_into().ok()?) as usize;
            String::from_utf8(take(bytes, at, len)?.to_vec()).ok()
        };
        match tag {
            1 => {
                let entries = (0..n)
                    .map(|_| Some((strings()?, strings()?)))
                    .collect::<Option<_>>()?;
                Some(Page::Leaf { entries })
            }
            2 => {
                let keys = (0..n).map(|_| strings()).collect::<Option<_>>()?;
                let children = (0..=n)
                    .map(|_| Some(u32::from_le_bytes(take(bytes, at, 4)?.try_into().ok()?)))
                    .collect::<Option<_>>()?;
                Some(Page::Internal { keys, children })
            }
            _ => None,
        }
    }
}

/// Reads `n` bytes at `*at`, moving past them.
fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Option<&'a [u8]> {
    let taken = bytes.get(*at..at.checked_add(n)?)?;
    *at += n;
    Some(taken)
}

/// Page `id` of the page file, if it is there and decodes.
pub fn read_page(disk: &Disk, id: PageId) -> Option<Page> {
    let start = id as usize * PAGE_SIZE;
    Page::decode(disk.read(PAGES).ok()?.get(start..start + PAGE_SIZE)?)
}

/// A page written whole: its id, and if it split, the separator and the
/// id of the right half, for the parent to take in.
pub type Written = (PageId, Option<(String, PageId)>);

/// The store's node. Everything here is volatile: the disk is the truth.
#[derive(Debug, Default)]
pub struct Btree {
    /// The root of the current tree (its uncommitted changes included), or
    /// `None` for an empty tree.
    pub root: Option<PageId>,
    /// The id the next page written gets: the end of the page file.
    pub next_page: PageId,
    /// Writes applied but not yet committed, waiting for the window to close.
    pub waiting: Vec<RequestId>,
}

impl Btree {
    /// A node before it has started.
    pub fn new() -> Self {
        Btree::default()
    }

    /// Writes `page` at the end of the page file (never over a page): its id.
    pub fn append(&mut self, disk: &mut Disk, page: &Page) -> PageId {
        let id = self.next_page;
        self.next_page += 1;
        disk.write_at(PAGES, id as u64 * PAGE_SIZE as u64, &page.encode())
            .expect("the page file exists");
        id
    }

    /// A page of the tree: every page reached from the root was written.
    pub fn page(disk: &Disk, id: PageId) -> Page {
        read_page(disk, id).expect("a page of the tree")
    }
}

/// The index of the child of an internal page whose subtree may hold
/// `key`: the number of separators at most `key` (a key equal to a
/// separator lies to its right).
pub fn child_index(keys: &[String], key: &str) -> usize {
    // exercise: begin "the number of separators in keys that are <= key (keys are sorted)"
    keys.partition_point(|k| k.as_str() <= key)
    // exercise: end
}

/// An overfull page cut in two: the left half, the separator for the
/// parent, the right half. A leaf's separator is a COPY of the right half's
/// first key (the key and its value stay in the leaf); an internal page's
/// is its middle key, MOVED up (its children are shared out around it).
/// Each half of a page over [`MAX_KEYS`] gets at least [`MIN_KEYS`].
pub fn split(page: Page) -> (Page, String, Page) {
    // exercise: begin "leaf: the right half is entries[len/2..], separator its first key; internal: "
    //   "the separator is keys[len/2], left keys before it and right keys after it, and "
    //   "children split so each side has one more child than keys"
    match page {
        Page::Leaf { mut entries } => {
            let right = entries.split_off(entries.len() / 2);
            let separator = right[0].0.clone();
            (
                Page::Leaf { entries },
                separator,
                Page::Leaf { entries: right },
            )
        }
        Page::Internal {
            mut keys,
            mut children,
        } => {
            let right_keys = keys.split_off(keys.len() / 2 + 1);
            let separator = keys.pop().expect("an overfull page has keys");
            let right_children = children.split_off(keys.len() + 1);
            (
                Page::Internal { keys, children },
                separator,
                Page::Internal {
                    keys: right_keys,
                    children: right_children,
                },
            )
        }
    }
    // exercise: end
}

/// Two sibling pages and the separator between them made one (it may be
/// overfull): a leaf's separator was a copy, and is dropped; an internal
/// page's comes down between the two pages' keys.
pub fn join(left: Page, separator: String, right: Page) -> Page {
    // exercise: begin "leaves: the entries of both; internal: left's keys, the separator, right's "
    //   "keys, and the children of both"
    match (left, right) {
        (Page::Leaf { mut entries }, Page::Leaf { entries: more }) => {
            entries.extend(more);
            Page::Leaf { entries }
        }
        (
            Page::Internal {
                mut keys,
                mut children,
            },
            Page::Internal {
                keys: more_keys,
                children: more_children,
            },
        ) => {
            keys.push(separator);
            keys.extend(more_keys);
            children.extend(more_children);
            Page::Internal { keys, children }
        }
        _ => unreachable!("siblings are at the same depth"),
    }
    // exercise: end
}

impl Btree {
    /// The value of `key`: descend by separators from the root to a leaf.
    pub fn get(&self, disk: &Disk, key: &str) -> Option<String> {
        // exercise: begin "from the root, follow children[child_index(..)] down to a leaf, and look "
        //   "key up among its entries"
        let mut id = self.root?;
        loop {
            match Self::page(disk, id) {
                Page::Leaf { entries } => {
                    return entries.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
                }
                Page::Internal { keys, children } => id = children[child_index(&keys, key)],
            }
        }
        // exercise: end
    }

    /// Writes `page`, split in two if it is overfull.
    pub fn store(&mut self, disk: &mut Disk, page: Page) -> Written {
        // exercise: begin "append the page if it holds at most MAX_KEYS keys; else split it, append "
        //   "both halves, and return the separator with the right half's id"
        if page.len() <= MAX_KEYS {
            return (self.append(disk, &page), None);
        }
        let (left, separator, right) = split(page);
        let left = self.append(disk, &left);
        (left, Some((separator, self.append(disk, &right))))
        // exercise: end
    }

    /// Sets `key` to `value` in the subtree at `id`: the new copy of every
    /// page on the path, written bottom up. A child's split adds its
    /// separator and right half to the parent, which may split in turn.
    pub fn insert(&mut self, disk: &mut Disk, id: PageId, key: String, value: String) -> Written {
        // exercise: begin "leaf: put (key, value) in order (or replace its value); internal: insert into "
        //   "the child at child_index, take its new id, and add its split (separator at i, right "
        //   "child at i + 1); then store the page"
        let page = match Self::page(disk, id) {
            Page::Leaf { mut entries } => {
                match entries.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
                    Ok(i) => entries[i].1 = value,
                    Err(i) => entries.insert(i, (key, value)),
                }
                Page::Leaf { entries }
            }
            Page::Internal {
                mut keys,
                mut children,
            } => {
                let i = child_index(&keys, &key);
                let (child, split) = self.insert(disk, children[i], key, value);
                children[i] = child;
                if let Some((separator, right)) = split {
                    keys.insert(i, separator);
                    children.insert(i + 1, right);
                }
                Page::Internal { keys, children }
            }
        };
        self.store(disk, page)
        // exercise: end
    }

    /// Put: a new tree with `key` set; a split root makes a new root above.
    pub fn put(&mut self, disk: &mut Disk, key: String, value: String) {
        // exercise: begin "an empty tree gets a leaf root; else insert from the root, and if it split, "
        //   "the new root is an internal page with the separator and both halves"
        let (root, split) = match self.root {
            None => self.store(
                disk,
                Page::Leaf {
                    entries: vec![(key, value)],
                },
            ),
            Some(root) => self.insert(disk, root, key, value),
        };
        self.root = Some(match split {
            None => root,
            Some((separator, right)) => self.append(
                disk,
                &Page::Internal {
                    keys: vec![separator],
                    children: vec![root, right],
                },
            ),
        });
        // exercise: end
    }

    /// Removes `key` from the subtree at `id`: the page's new contents, not
    /// yet written (its parent writes it, once it is fixed if it fell under
    /// [`MIN_KEYS`]), or `None` if `key` is not there (nothing changes).
    pub fn remove(&mut self, disk: &mut Disk, id: PageId, key: &str) -> Option<Page> {
        // exercise: begin "leaf: remove the entry (None if absent); internal: remove from the child at "
        //   "child_index, and rebalance the page with the child's new contents"
        match Self::page(disk, id) {
            Page::Leaf { mut entries } => {
                let i = entries.iter().position(|(k, _)| k == key)?;
                entries.remove(i);
                Some(Page::Leaf { entries })
            }
            Page::Internal { keys, children } => {
                let i = child_index(&keys, key);
                let child = self.remove(disk, children[i], key)?;
                Some(self.rebalance(disk, keys, children, i, child))
            }
        }
        // exercise: end
    }

    /// The parent page (`keys`, `children`) with `child` written as the new
    /// contents of `children[i]`. A child under [`MIN_KEYS`] is joined with
    /// a sibling (the left one, or the right one for the first child) and
    /// the separator between them, and the joined page stored: if it
    /// splits, that is a redistribution (a new separator); if not, a merge
    /// (the parent has one key fewer).
    pub fn rebalance(
        &mut self,
        disk: &mut Disk,
        keys: Vec<String>,
        children: Vec<PageId>,
        i: usize,
        child: Page,
    ) -> Page {
        // exercise: begin "at least MIN_KEYS: write it as children[i]. Else with l the left one of the "
        //   "pair (i - 1, or 0 for the first child), join the pair around keys[l] (removed from keys, "
        //   "and children[l + 1] with it) and store it as children[l], adding back its split if any; "
        //   "return the parent as Page::Internal"
        let (mut keys, mut children) = (keys, children);
        if child.len() >= MIN_KEYS {
            children[i] = self.append(disk, &child);
            return Page::Internal { keys, children };
        }
        let l = i.saturating_sub(1);
        let (left, right) = if l == i {
            (child, Self::page(disk, children[i + 1]))
        } else {
            (Self::page(disk, children[l]), child)
        };
        let joined = join(left, keys.remove(l), right);
        children.remove(l + 1);
        let (id, split) = self.store(disk, joined);
        children[l] = id;
        if let Some((separator, right)) = split {
            keys.insert(l, separator);
            children.insert(l + 1, right);
        }
        Page::Internal { keys, children }
        // exercise: end
    }

    /// Delete: a new tree without `key`. A root left with no keys goes: an
    /// empty leaf leaves an empty tree, an internal root its only child.
    pub fn delete(&mut self, disk: &mut Disk, key: &str) {
        // exercise: begin "remove from the root (nothing to do if the tree is empty or key absent); the "
        //   "new root: None for an empty leaf, the only child of an internal page with no keys, "
        //   "else the page written"
        let Some(page) = self.root.and_then(|root| self.remove(disk, root, key)) else {
            return;
        };
        self.root = match page {
            Page::Leaf { entries } if entries.is_empty() => None,
            Page::Internal { keys, children } if keys.is_empty() => Some(children[0]),
            page => Some(self.append(disk, &page)),
        };
        // exercise: end
    }

    /// Every key in `from..to` in the subtree at `id`, with its value, in
    /// order: an in-order descent into the children whose ranges meet
    /// `from..to`.
    ///
    /// A B+ tree that writes pages in place links each leaf to the next,
    /// and a scan walks the links. Copy-on-write cannot keep them: a new
    /// copy of a leaf needs a new copy of the leaf before it (its link
    /// changed), and that one of the one before, up to the first leaf. So
    /// the scan descends instead, into only the pages whose key ranges
    /// meet `from..to`.
    pub fn scan(disk: &Disk, id: PageId, from: &str, to: &str) -> Vec<(String, String)> {
        // exercise: begin "leaf: its entries with from <= key < to; internal: the scans of the "
        //   "children from child_index(from) to child_index(to), in order"
        match Self::page(disk, id) {
            Page::Leaf { entries } => entries
                .into_iter()
                .filter(|(k, _)| from <= k.as_str() && k.as_str() < to)
                .collect(),
            Page::Internal { keys, children } => children
                [child_index(&keys, from)..=child_index(&keys, to)]
                .iter()
                .flat_map(|&child| Self::scan(disk, child, from, to))
                .collect(),
        }
        // exercise: end
    }

    /// Every key in `from..to`, with its value, in order.
    pub fn range(&self, disk: &Disk, from: &str, to: &str) -> Vec<(String, String)> {
        match self.root {
            Some(root) if from < to => Self::scan(disk, root, from, to),
            _ => Vec::new(),
        }
    }

    /// The window closes: the new pages are synced, then the new root is
    /// written to [`META`] and synced, then every waiting write is
    /// acknowledged. In this order, [`META`] never names a page that a
    /// power cut could lose, and a write is acknowledged only once the
    /// tree holding it is the one recovery reads.
    fn commit(&mut self, disk: &mut Disk) -> Vec<RequestId> {
        // exercise: begin "sync PAGES; write the root's id (u32 LE, u32::MAX for None) at offset 0 of "
        //   "META and sync it; return the waiting writes, for Done"
        disk.sync(PAGES).expect("the page file exists");
        let root = self.root.unwrap_or(u32::MAX);
        disk.write_at(META, 0, &root.to_le_bytes())
            .expect("the meta file exists");
        disk.sync(META).expect("the meta file exists");
        std::mem::take(&mut self.waiting)
        // exercise: end
    }

    /// On start: the committed tree. Pages after it in the file (written
    /// but never committed) are garbage; new pages go after them.
    fn recover(&mut self, disk: &mut Disk) {
        // exercise: begin "create PAGES and META if META is missing (and sync_dir); root from META "
        //   "(None if empty or u32::MAX); next_page after the last page of the file"
        if !disk.exists(META) {
            disk.create(PAGES);
            disk.create(META);
            disk.sync_dir();
        }
        let meta = disk.read(META).expect("the meta file exists");
        self.root = meta
            .get(..4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .filter(|&root| root != u32::MAX);
        let len = disk.len(PAGES).expect("the page file exists") as usize;
        self.next_page = len.div_ceil(PAGE_SIZE) as PageId;
        // exercise: end
    }
}

impl Node for Btree {
    type Msg = ();
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    /// On start and on every restart: recover the committed tree.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.recover(ctx.disk());
    }

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, _msg: ()) {}

    /// Reads answer from the current tree at once; a write changes it and
    /// waits for the commit, the first one opening the window.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match req {
            Request::Get { key } => {
                let value = self.get(ctx.disk(), &key);
                ctx.reply(id, Reply::Value(value));
            }
            Request::Scan { from, to } => {
                let entries = self.range(ctx.disk(), &from, &to);
                ctx.reply(id, Reply::Entries(entries));
            }
            Request::Put { key, value } => {
                self.put(ctx.disk(), key, value);
                self.wait(ctx, id);
            }
            Request::Delete { key } => {
                self.delete(ctx.disk(), &key);
                self.wait(ctx, id);
            }
        }
    }

    /// The commit window closes.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Commit => {
                for id in self.commit(ctx.disk()) {
                    ctx.reply(id, Reply::Done);
                }
            }
        }
    }
}

impl Btree {
    /// A write waits for the commit; the first to wait opens the window.
    fn wait(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
        self.waiting.push(id);
        if self.waiting.len() == 1 {
            ctx.set_timer(Timer::Commit, GROUP_WINDOW);
        }
    }
}
