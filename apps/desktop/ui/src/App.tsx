import { useState } from 'react';
import { Tab, TabList, TabPanel, Tabs } from 'react-aria-components';
import { useGateway } from './components/use-gateway';
import { useStreamState } from './components/use-stream-state';
import { AccountScreen } from './screens/AccountScreen';
import { AgentsScreen } from './screens/AgentsScreen';
import { ChatScreen, type OpenConversation } from './screens/ChatScreen';
import { HistoryScreen } from './screens/HistoryScreen';
import { ProvidersScreen } from './screens/ProvidersScreen';
import { RecordingsScreen } from './screens/RecordingsScreen';
import { SettingsScreen } from './screens/SettingsScreen';
import { StatusScreen } from './screens/StatusScreen';
import { TeamScreen } from './screens/TeamScreen';

type Section =
  | 'status'
  | 'chat'
  | 'agents'
  | 'providers'
  | 'history'
  | 'recordings'
  | 'team'
  | 'account'
  | 'settings';

const GATEWAY_WORDS = {
  running: 'Gateway running',
  starting: 'Gateway starting',
  stopped: 'Gateway not running',
  refusing: 'Gateway refuses',
} as const;

/** The window: one section at a time, chosen from a list a keyboard walks with the arrow keys. */
export function App() {
  const gateway = useGateway();
  const [section, setSection] = useState<Section>('status');
  const [open, setOpen] = useState<{ conversation?: OpenConversation; n: number }>({ n: 0 });
  const state = gateway.status?.state;
  const stream = useStreamState();
  return (
    <div className="app">
      <header className="topbar">
        <h1>MultiClaw</h1>
        <p className="badge" data-state={state ?? 'unknown'} role="status">
          {state ? GATEWAY_WORDS[state] : 'Gateway: checking…'}
        </p>
      </header>
      {stream === 'refused' ? (
        <div role="alert" className="notice notice-error banner">
          <p>
            This window is not signed in to the desktop host: it keeps its key only in memory, so a reload or
            a copied address loses it. Close this window and open MultiClaw again.
          </p>
        </div>
      ) : null}
      {stream === 'closed' ? (
        <p role="status" className="notice notice-warn banner">
          Live updates paused: reconnecting to the desktop host…
        </p>
      ) : null}
      <Tabs
        orientation="vertical"
        selectedKey={section}
        onSelectionChange={(key) => setSection(key as Section)}
        className="layout"
      >
        <TabList aria-label="Sections" className="nav">
          <Tab id="status">Status</Tab>
          <Tab id="chat">Chat</Tab>
          <Tab id="agents">Agents</Tab>
          <Tab id="providers">Providers</Tab>
          <Tab id="history">History</Tab>
          <Tab id="recordings">Recordings</Tab>
          <Tab id="team">Team</Tab>
          <Tab id="account">Account</Tab>
          <Tab id="settings">Settings</Tab>
        </TabList>
        <main className="content">
          <TabPanel id="status">
            <StatusScreen gateway={gateway} onGo={setSection} />
          </TabPanel>
          {/* Kept mounted: a reply goes on streaming while another section is shown. */}
          <TabPanel id="chat" shouldForceMount>
            <ChatScreen
              key={open.n}
              visible={section === 'chat'}
              gatewayRunning={state === undefined || state === 'running'}
              {...(open.conversation ? { open: open.conversation } : {})}
            />
          </TabPanel>
          <TabPanel id="agents">
            <AgentsScreen onChanged={() => void gateway.refresh()} />
          </TabPanel>
          <TabPanel id="providers">
            <ProvidersScreen onChanged={() => void gateway.refresh()} />
          </TabPanel>
          <TabPanel id="history">
            <HistoryScreen
              onOpen={(conversation) => {
                setOpen((current) => ({ conversation, n: current.n + 1 }));
                setSection('chat');
              }}
            />
          </TabPanel>
          <TabPanel id="recordings">
            <RecordingsScreen />
          </TabPanel>
          {/* Kept mounted: a removal or a new workspace is followed live while another section is shown. */}
          <TabPanel id="team" shouldForceMount>
            <TeamScreen />
          </TabPanel>
          <TabPanel id="account">
            <AccountScreen />
          </TabPanel>
          <TabPanel id="settings">
            <SettingsScreen />
          </TabPanel>
        </main>
      </Tabs>
    </div>
  );
}
