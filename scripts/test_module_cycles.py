"""Unit tests for module_cycles.py: it finds the cycles it should and only those.

Run: python3 -m unittest discover -s scripts -p 'test_*.py'
"""

import tempfile
import textwrap
import unittest
from pathlib import Path

import module_cycles


_DIRS = []


def tearDownModule():
    for d in _DIRS:
        d.cleanup()


def crate(files):
    """A throwaway crate with these files (path -> Rust source); returns its directory."""
    _DIRS.append(tempfile.TemporaryDirectory(prefix="module-cycles-"))
    root = Path(_DIRS[-1].name)
    (root / "Cargo.toml").write_text('[package]\nname = "t"\n')
    for path, text in files.items():
        file = root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(textwrap.dedent(text))
    return root


class FindsCycles(unittest.TestCase):
    def test_two_modules_that_use_each_other(self):
        root = crate(
            {
                "src/lib.rs": "pub mod a;\npub mod b;\n",
                "src/a.rs": "use crate::b::Thing;\npub struct Other;\n",
                "src/b.rs": "pub struct Thing;\nfn f() -> super::a::Other { todo!() }\n",
            }
        )
        report = module_cycles.check([root])
        self.assertTrue(report, "a <-> b must be reported")
        self.assertIn("modules in a cycle: a, b", report[0])

    def test_sibling_trees_that_use_each_other_through_submodules(self):
        # auth::routes -> billing and billing -> auth: the cycle is between the trees.
        root = crate(
            {
                "src/lib.rs": "pub mod auth;\npub mod billing;\n",
                "src/auth/mod.rs": "pub mod routes;\npub struct User;\n",
                "src/auth/routes.rs": "fn f() { crate::billing::check(); }\n",
                "src/billing.rs": "use crate::auth::User;\npub fn check() {}\n",
            }
        )
        report = module_cycles.check([root])
        self.assertTrue(any("module trees in a cycle: auth, billing" in l for l in report), report)

    def test_use_trees_with_groups_and_self(self):
        root = crate(
            {
                "src/lib.rs": "pub mod a;\npub mod b;\n",
                "src/a.rs": "use crate::{b::{self, Thing}, a as _};\n",
                "src/b.rs": "pub struct Thing;\nuse crate::a;\n",
            }
        )
        self.assertTrue(module_cycles.check([root]))


class IgnoresWhatIsNoCycle(unittest.TestCase):
    def test_one_way_dependencies_comments_strings_and_inline_tests(self):
        root = crate(
            {
                "src/lib.rs": "pub mod server;\npub mod shutdown;\n",
                "src/server/mod.rs": """\
                    pub mod timer;
                    pub mod workers;
                    use workers::Workers;
                    use crate::shutdown::Timing;
                    fn f() { let _ = timer::TICK; }
                """,
                "src/server/workers.rs": """\
                    use super::timer::CoarseTimer;
                    pub struct Workers;
                    // crate::server::Thing in a comment is no dependency
                    const SQL: &str = "SELECT $1::uuid, 'x'::server";
                    const RAW: &str = r#"crate::server"#;
                    const QUOTE: char = '"';
                    #[cfg(test)]
                    mod tests {
                        use super::*;
                        fn g() { let _ = super::super::timer::TICK; }
                    }
                """,
                "src/server/timer.rs": "pub struct CoarseTimer;\npub const TICK: u8 = 1;\n",
                "src/shutdown.rs": "pub struct Timing;\n",
            }
        )
        self.assertEqual(module_cycles.check([root]), [])

    def test_a_child_using_its_parent_is_fine_while_the_parent_does_not_use_it(self):
        root = crate(
            {
                "src/lib.rs": "pub mod stripe;\n",
                "src/stripe/mod.rs": "pub mod inject;\npub fn client_for() {}\n",
                "src/stripe/inject.rs": "use crate::stripe::client_for;\n",
            }
        )
        self.assertEqual(module_cycles.check([root]), [])


if __name__ == "__main__":
    unittest.main()
