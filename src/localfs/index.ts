/**
 * localfs: one implementation of reading and writing a folder on this host's disk that may be
 * changing under us (README.md). Code outside this folder imports from here.
 */
export { checkedPath } from "./paths";
export { at, DirChain, errnoOf, MODE_BITS, openDirAt, openFileAt, openRoot, removeNonDirAt, splitPath, sysError } from "./safe-fs";
export { scanFolder, type ScanOptions, type SpecialKind } from "./scan";
export { openRegularSync, readWhole, readWorkspaceFile, SMALL_READ, workspaceInPlaceReads } from "./reads";
export { hashFolderFiles } from "./hash";
export { hostPathSync, writeWorkspaceFile, writeWorkspaceFileSync } from "./writes";
