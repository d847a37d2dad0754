import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { takeSecretFromAddress } from './ipc/secret';
import './styles.css';

// First, before anything renders or any request leaves: the secret moves from the address bar into memory.
takeSecretFromAddress();

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
