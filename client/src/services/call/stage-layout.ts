// How the call's tiles share the stage: a grid that fills it at any count, or one tile in the
// spotlight (pinned, a shared screen, or the active speaker) with the others in a strip.

export type StageMode = "grid" | "speaker";

export interface StageTile {
  /** `<identity>:camera` or `<identity>:screen`. */
  key: string;
  identity: string;
  source: "camera" | "screen";
  isLocal: boolean;
}

export interface StageArrangement {
  /** The tile in the spotlight; null for a plain grid. */
  main: StageTile | null;
  /** Every other tile, in the grid or in the strip beside the spotlight. */
  others: StageTile[];
}

export interface GridShape {
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

export const tileKey = (identity: string, source: "camera" | "screen"): string => `${identity}:${source}`;

/**
 * The columns and rows that give the largest tiles of the given aspect for `count` tiles in a
 * `width` × `height` area with `gap` pixels between them.
 */
export function gridShape(count: number, width: number, height: number, gap = 8, aspect = 16 / 9): GridShape {
  if (count <= 0 || width <= 0 || height <= 0) return { columns: 1, rows: 1, tileWidth: Math.max(width, 0), tileHeight: Math.max(height, 0) };
  let best: GridShape = { columns: 1, rows: count, tileWidth: 0, tileHeight: 0 };
  for (let columns = 1; columns <= count; columns++) {
    const rows = Math.ceil(count / columns);
    const cellWidth = (width - gap * (columns - 1)) / columns;
    const cellHeight = (height - gap * (rows - 1)) / rows;
    if (cellWidth <= 0 || cellHeight <= 0) continue;
    const tileWidth = Math.min(cellWidth, cellHeight * aspect);
    if (tileWidth > best.tileWidth) best = { columns, rows, tileWidth: Math.floor(tileWidth), tileHeight: Math.floor(tileWidth / aspect) };
  }
  return best;
}

/**
 * Picks the spotlight: a pinned tile first, else a shared screen, else (speaker view) the active
 * speaker, or another member rather than ourselves. A grid with nothing pinned or shared has none.
 */
export function arrangeStage(tiles: readonly StageTile[], view: { mode: StageMode; pinned: string | null; activeSpeaker: string | null }): StageArrangement {
  const pinned = view.pinned === null ? undefined : tiles.find((tile) => tile.key === view.pinned);
  const screen = tiles.find((tile) => tile.source === "screen");
  let main = pinned ?? screen;
  if (main === undefined && view.mode === "speaker") {
    const cameras = tiles.filter((tile) => tile.source === "camera");
    main = cameras.find((tile) => tile.identity === view.activeSpeaker) ?? cameras.find((tile) => !tile.isLocal) ?? cameras[0];
  }
  if (main === undefined) return { main: null, others: [...tiles] };
  const spotlight = main;
  return { main: spotlight, others: tiles.filter((tile) => tile.key !== spotlight.key) };
}
