//! What the VUs of one run share besides the spec: files read by `open()` and the elements of
//! each `SharedArray`, and what `k6/execution` reads of the run. The probe that reads the options fills it first, so a VU finds there
//! what the script's init code made once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

/// A `SharedArray`'s elements, each as its JSON text (parsed by a VU when it reads one).
pub(crate) type Elements = Arc<[Box<str>]>;

#[derive(Default)]
pub struct Shared {
    files: Mutex<HashMap<PathBuf, Arc<[u8]>>>,
    arrays: Mutex<HashMap<String, Elements>>,
    pub(crate) execution: super::execution::Execution,
}

impl Shared {
    /// The file's bytes, read once per run.
    pub(crate) fn file(&self, path: PathBuf) -> std::io::Result<Arc<[u8]>> {
        if let Some(b) = self.files.lock().get(&path) {
            return Ok(b.clone());
        }
        let bytes: Arc<[u8]> = Arc::from(std::fs::read(&path)?);
        Ok(self.files.lock().entry(path).or_insert(bytes).clone())
    }

    /// Every file `open()` has read, as the script named it (resolved from its module).
    pub(crate) fn opened(&self) -> Vec<std::path::PathBuf> {
        let mut list: Vec<_> = self.files.lock().keys().cloned().collect();
        list.sort();
        list
    }

    pub(crate) fn array(&self, name: &str) -> Option<Elements> {
        self.arrays.lock().get(name).cloned()
    }

    /// Keeps `elements` as the array `name`, unless another VU made it first: then its
    /// elements are the ones every VU sees.
    pub(crate) fn make_array(&self, name: String, elements: Elements) -> Elements {
        self.arrays.lock().entry(name).or_insert(elements).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_once_and_an_array_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        std::fs::write(&path, "one").unwrap();
        let shared = Shared::default();
        let first = shared.file(path.clone()).unwrap();
        std::fs::write(&path, "two").unwrap();
        // The run keeps what its init code read, as every VU must see the same bytes.
        assert_eq!(&*shared.file(path.clone()).unwrap(), b"one");
        assert!(Arc::ptr_eq(&first, &shared.file(path).unwrap()));
        assert!(shared.file(dir.path().join("missing")).is_err());

        assert!(shared.array("a").is_none());
        let made = shared.make_array("a".into(), Elements::from(vec![Box::from("1")]));
        let again = shared.make_array("a".into(), Elements::from(vec![Box::from("2")]));
        assert!(
            Arc::ptr_eq(&made, &again),
            "the first array of a name is kept"
        );
        assert_eq!(&*shared.array("a").unwrap()[0], "1");
    }
}
