# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
"""Oracles: readers of what parkwatch is compared with, one parser each."""
