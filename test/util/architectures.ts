/** The architecture builders moved to architectures/ (production code: Keras weight files load into them); tests import them from here. */
export * from '../../architectures/index.js';
