"""Tests of bench/api/same_answer.py (run by `make lint`)."""

import unittest

from same_answer import first_difference, normalise

RUST = {"id": "a", "created_at": "2026-12-01T23:20:00.123456Z", "balance_cents": 5}
NODE = {"id": "a", "created_at": "2026-12-01T23:20:00.123Z", "balance_cents": 5}


class SameAnswer(unittest.TestCase):
    def test_timestamps_compare_to_the_millisecond(self):
        self.assertIsNone(first_difference(normalise(RUST, set()), normalise(NODE, set())))
        whole = normalise({"t": "2026-01-01T00:01:00Z"}, set())
        self.assertEqual(whole, normalise({"t": "2026-01-01T00:01:00.000Z"}, set()))

    def test_a_different_value_or_field_is_named(self):
        other = dict(NODE, balance_cents=6)
        self.assertIn("balance_cents", first_difference(normalise(RUST, set()), normalise(other, set())))
        self.assertIn("fields", first_difference({"a": 1}, {"b": 1}))
        self.assertIn("2 items vs 1", first_difference([1, 2], [1]))

    def test_fresh_fields_are_not_compared(self):
        self.assertIsNone(first_difference(normalise({"id": "x"}, {"id"}), normalise({"id": "y"}, {"id"})))


if __name__ == "__main__":
    unittest.main()
