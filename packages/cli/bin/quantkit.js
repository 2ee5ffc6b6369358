#!/usr/bin/env node
// A committed launcher, so that npm can link the `quantkit` command before the package is built.
import '../dist/bin.js';
