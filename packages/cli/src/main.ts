#!/usr/bin/env node
process.stderr.write("kubemu: the launcher is not built yet\n");
process.exit(1);
