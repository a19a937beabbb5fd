/** Hardware decoders a camera's detect stream can use; 'auto' lets ffmpeg pick one or decode in software. */
export const HWACCELS = ['none', 'auto', 'vaapi', 'qsv', 'cuda', 'v4l2m2m'] as const;
export type HwAccel = (typeof HWACCELS)[number];
